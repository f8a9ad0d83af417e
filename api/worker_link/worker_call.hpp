#pragma once

// One request on its way from an io thread to the ZeroMQ bridge's strand, and the caller waiting
// for its reply.

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/prefer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "api/worker_link/worker_client.hpp"

namespace streamgate {

// A suspended caller. The reply is posted to the caller's own executor (its session's strand),
// so the bridge's strand never runs session code; the executor is work-tracked, so the
// io_context cannot run out of work while a caller waits.
class reply_waiter final {
 public:
  template <class Handler>
  explicit reply_waiter(Handler&& handler)
      : executor_(asio::prefer(asio::get_associated_executor(handler),
                               asio::execution::outstanding_work.tracked)),
        handler_(std::forward<Handler>(handler)) {}

  // From any thread; resumes the caller with `reply`.
  void complete(std::optional<worker_reply> reply) &&;

 private:
  asio::any_io_executor executor_;
  asio::any_completion_handler<void(std::optional<worker_reply>)> handler_;
};

struct worker_call {
  std::uint64_t corr = 0;
  std::string wire;           // the encoded request; a retry resends these very bytes
  std::string request_id;     // of a start, tracked while in flight; empty for other ops
  std::string user_id;        // of a start: whose sockets hear when a send_only one is given up
  std::size_t route_key = 0;  // picks the worker, so one user's requests go to one worker
  bool idempotent = false;    // may be resent with the same corr and requestId
  std::chrono::steady_clock::time_point deadline;
  std::chrono::steady_clock::time_point created;  // for the verdict latency of a start
  std::optional<reply_waiter> waiter;             // empty for send_only

  // A start sent with send_only (202, WebSocket): its caller hears the verdict only through the
  // worker's events.
  bool told_by_events() const { return !waiter && !request_id.empty(); }
};

}  // namespace streamgate
