#pragma once

// The api's Prometheus metrics (GET /metrics, text exposition format 0.0.4), written by hand:
// a few relaxed atomics and one small mutex-guarded map, no client library. Counters count from
// this api's start. Decisions are counted by the workers where they are made, and shown from the
// answering worker's stats (render_worker_stats), never by an api from the events it relays: every
// api hears every event, so several apis would each count the same verdict (docs/design.md §11).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "common/worker_replies.hpp"

namespace streamgate {

struct link_stats;

class api_metrics final {
 public:
  // Bucket upper bounds of streamgate_verdict_latency_seconds.
  static constexpr std::array<double, 12> latency_buckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                          0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

  // `route` is the route's pattern ("/api/v1/users/{id}"), so the label set stays small.
  void count_request(std::string_view route, unsigned status);
  void observe_verdict_latency(std::chrono::steady_clock::duration d);
  void set_pending_calls(std::size_t n) { pending_calls_.store(n, std::memory_order_relaxed); }
  void count_rate_limited_start() { rate_limited_.fetch_add(1, std::memory_order_relaxed); }

  // The whole exposition. The gauges the caller owns are passed in.
  std::string render(const link_stats* link, bool worker_up, std::size_t websockets) const;

 private:
  mutable std::mutex requests_mutex_;
  std::map<std::pair<std::string, unsigned>, std::uint64_t> requests_;
  std::atomic<std::uint64_t> rate_limited_{0};
  std::array<std::atomic<std::uint64_t>, latency_buckets.size()> latency_counts_{};
  std::atomic<std::uint64_t> latency_count_{0};
  std::atomic<std::uint64_t> latency_sum_us_{0};
  std::atomic<std::size_t> pending_calls_{0};
};

// The process's one instance: the bridge's strand, io threads and the /metrics handler share it.
api_metrics& metrics();

// streamgate_worker_batch_size, streamgate_worker_batch_seconds and
// streamgate_worker_background_step_seconds (histograms), the worker's decision counters and
// streamgate_active_streams (a gauge) from a worker's `stats` reply.
// With several workers the histograms are the worker's that answered the scrape's call; the
// gauge is the shared store's.
std::string render_worker_stats(const worker_stats& stats);

}  // namespace streamgate
