#pragma once

// Which worker a request goes to (zmq_bridge::pick_worker: the one its key names, or the next
// live one): every request about one user carries that user's key, its creation included, so
// one worker decides for the user and only its cache holds the user (docs/design.md §8).
// Requests about no user, an id-less create among them, spread by their corr.

#include <cstddef>
#include <cstdint>

#include "common/messages.hpp"

namespace streamgate {

std::size_t route_key_of(const request_body& body, std::uint64_t corr);

}  // namespace streamgate
