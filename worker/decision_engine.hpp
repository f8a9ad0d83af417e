#pragma once

// What engine_server's ZeroMQ loop asks of a store engine: decide a batch of requests, make every
// decision durable, and only then hand back the replies and the events to publish. The Redis
// engine (redis_engine.hpp) is one; the loop knows no store.

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/messages.hpp"
#include "worker/request_handler.hpp"

namespace streamgate {

// One event as it leaves on the PUB socket: [topic][body][sequence].
struct published_event {
  std::string topic;     // the userId
  std::string body;      // the WebSocket message, rendered by common/codec
  std::string sequence;  // "<epoch> <seq>" (common/messages.hpp)
};

// The engine cannot reach its store: the batch is answered `unavailable` and the loop carries
// on; a client's retry of a start (same requestId) finds whatever was decided, never decides twice.
class store_unavailable final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class decision_engine {
 public:
  virtual ~decision_engine() = default;

  // Decides `requests` in order, also runs the engine's own due work (lease expiry), and returns
  // once all of it is durable: one reply per request in `replies` (same order) and the events in
  // `events`. Throws store_unavailable when the store could not be reached.
  virtual void decide_batch(const std::vector<request_body>& requests, std::vector<reply>& replies,
                            std::vector<published_event>& events) = 0;

  // Live streams of all users, for the streamgate_active_streams gauge; nullopt when the store
  // cannot tell now. Called between batches.
  virtual std::optional<std::uint64_t> active_streams() = 0;

  // How long the loop may wait for requests before the engine has due work of its own.
  virtual std::chrono::milliseconds idle_wait() const = 0;
};

}  // namespace streamgate
