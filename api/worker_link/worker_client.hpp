#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "api/http/http_types.hpp"
#include "api/playback/playback_pass.hpp"
#include "common/messages.hpp"
#include "common/worker_replies.hpp"

namespace streamgate {

// A worker's answer to one request (the frames after the corr, common/messages.hpp), typed: the
// route renders it (api/views).
struct worker_reply {
  outcome result = outcome::internal;
  reply_body body{};
  // A fresh playback token, when the reply leaves a stream live (an allowed start, a heartbeat,
  // a looked-up allowed request): signed by the api that answers (docs/design.md §9).
  std::optional<playback_pass> playback{};
};

// What handlers and WebSocket sessions need from the workers. worker_link is the ZeroMQ
// implementation; tests substitute a fake, so handlers are tested without sockets.
class worker_client {
 public:
  virtual ~worker_client() = default;

  // Resumes the calling coroutine on its own executor with the reply, or with nullopt when none
  // came within `timeout` (or the link is stopping). Never blocks a thread.
  // Pass `body` as a named object, never a temporary: GCC 12 bit-copies a class prvalue passed
  // by value to a coroutine, which corrupts short strings (an invalid free). The same holds for
  // every coroutine taking a class by value (relay, ...).
  virtual asio::awaitable<std::optional<worker_reply>> call(request_body body,
                                                            std::chrono::milliseconds timeout) = 0;

  // Sends without waiting: the verdict of a start reaches clients through the events (PUB).
  // False when the request could not even be queued.
  virtual bool send_only(request_body body) = 0;

  // Whether a worker answered a ping recently; cheap enough for every GET /health.
  virtual bool worker_up() const = 0;

  // Whether this api sent a start with this requestId and is still waiting for its verdict.
  virtual bool in_flight(std::string_view request_id) const = 0;
};

}  // namespace streamgate
