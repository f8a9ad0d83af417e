#pragma once

// The api's side of the ZeroMQ contract (common/messages.hpp): io threads encode and queue
// calls, the bridge's strand sends them, and each reply resumes its caller on the caller's strand.
// No thread blocks per request.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "api/worker_link/call_queue.hpp"
#include "api/worker_link/in_flight_requests.hpp"
#include "api/worker_link/link_stats.hpp"
#include "api/worker_link/worker_client.hpp"
#include "api/websocket/ws_registry.hpp"
#include "api/worker_link/zmq_bridge.hpp"
#include "common/config.hpp"

namespace streamgate {

class worker_link final : public worker_client {
 public:
  // `send_only_window`: how long a send_only start is retried before the api gives up on it.
  // `playback` signs what replies and events grant and hears which streams ended.
  // `keys`: CURVE on the link when the workers run with keys (docs/design.md §6).
  worker_link(const std::vector<worker_endpoint>& workers, const api_link_keys& keys,
              ws_registry& events, std::chrono::milliseconds send_only_window,
              playback_gate& playback, token_cache& confirmed_tokens);

  // The bridge runs on a strand of `io` (docs/design.md §1).
  void start(asio::io_context& io);
  // Every caller still waiting resumes with nullopt; later calls get nullopt at once.
  void stop();
  // Last, when no thread runs `io` any more and before it is destroyed (zmq_bridge::detach).
  void detach();

  asio::awaitable<std::optional<worker_reply>> call(request_body body,
                                                    std::chrono::milliseconds timeout) override;
  bool send_only(request_body body) override;
  bool worker_up() const override;
  bool in_flight(std::string_view request_id) const override;

  const link_stats& stats() const { return stats_; }

 private:
  worker_call make_call(request_body body, std::chrono::milliseconds timeout);
  bool submit(worker_call&& call);

  link_stats stats_;
  in_flight_requests in_flight_;
  call_queue calls_;
  std::atomic<std::uint64_t> next_corr_{1};
  const std::chrono::milliseconds send_only_window_;
  zmq_bridge bridge_;  // last: it uses the members above until it is stopped
};

}  // namespace streamgate
