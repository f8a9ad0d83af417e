#pragma once

// How many requests the worker decides per group commit, how long each batch and each
// background step of the store takes: the histograms the api exposes as
// streamgate_worker_batch_size, streamgate_worker_batch_seconds and
// streamgate_worker_background_step_seconds (answer to the `stats` op, common/worker_replies.hpp).
// Touched by the worker's one loop thread only.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/worker_replies.hpp"

namespace streamgate {

class batch_stats final {
 public:
  // A batch that decided `requests` requests; an empty one (only lease expiry) is not a batch.
  void observe(std::size_t requests);
  // A batch's load, decisions and commit; a background step of the store.
  void observe_batch_time(std::chrono::microseconds took) { batch_time_.observe(as_us(took)); }
  void observe_step_time(std::chrono::microseconds took) { step_time_.observe(as_us(took)); }

  // The `stats` reply, with the live streams of all users when the caller knows them.
  worker_stats report(std::optional<std::uint64_t> active_streams,
                      const decision_counters& decisions) const;

  std::uint64_t batches() const { return batches_; }
  std::uint64_t requests() const { return requests_; }

 private:
  std::array<std::uint64_t, worker_stats::bounds.size()> counts_{};  // not cumulative
  std::uint64_t batches_ = 0;
  std::uint64_t requests_ = 0;
  duration_histogram batch_time_;
  duration_histogram step_time_;

  static std::uint64_t as_us(std::chrono::microseconds d) {
    return static_cast<std::uint64_t>(std::max<std::chrono::microseconds::rep>(d.count(), 0));
  }
};

}  // namespace streamgate
