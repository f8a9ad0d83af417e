#pragma once

// The start a client's body asks for, as REST and WebSocket both send it to a worker.

#include <string>

#include "common/codec.hpp"
#include "common/messages.hpp"

namespace streamgate {

// Ids the client left out are made here: a session of its own, and a requestId marked as made
// (start_request::request_id_made), so the worker skips looking up an owner it cannot have.
start_request new_start(start_body body, std::string user_id);

}  // namespace streamgate
