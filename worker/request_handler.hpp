#pragma once

// Turns one decoded request into the limiter's decision and the reply the api relays as is: an
// outcome (mapped to an HTTP status by the api) and the JSON body, rendered here once. It knows
// no ZeroMQ and no store, so every op's mapping is unit-tested directly.

#include <string>

#include "common/clock.hpp"
#include "common/messages.hpp"
#include "worker/stream_limiter.hpp"

namespace streamgate {

struct reply {
  outcome status = outcome::ok;
  std::string body;  // empty for no_content
};

class request_handler final {
 public:
  // Decisions are taken at `at`, so a batch of requests shares one instant and tests inject it.
  reply handle(const request_body& body, stream_limiter& limiter, instant at) const;
};

}  // namespace streamgate
