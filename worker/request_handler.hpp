#pragma once

// Turns one decoded request into the limiter's decision and the reply the api relays as is: an
// outcome (mapped to an HTTP status by the api) and the JSON body, rendered here once. It knows
// no ZeroMQ and no store, so every op's mapping is unit-tested directly.

#include <string>
#include <vector>

#include "common/clock.hpp"
#include "common/messages.hpp"
#include "worker/stream_limiter.hpp"

namespace streamgate {

struct reply {
  outcome status = outcome::ok;
  std::string body;  // empty for no_content
};

// Where list_events reads the durable audit trail (sqlite_store; a fake in tests).
class audit_reader {
 public:
  // The user's newest `limit` entries, newest first.
  virtual std::vector<audit_entry> recent_audit(const std::string& user_id, int limit) const = 0;

 protected:
  ~audit_reader() = default;
};

class request_handler final {
 public:
  // Decisions are taken at `at`, so a batch of requests shares one instant and tests inject it.
  // list_events needs `audit`; without one it answers unavailable.
  reply handle(const request_body& body, stream_limiter& limiter, instant at,
               const audit_reader* audit = nullptr) const;
};

}  // namespace streamgate
