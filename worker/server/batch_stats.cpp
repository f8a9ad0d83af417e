#include "worker/server/batch_stats.hpp"

namespace streamgate {

void batch_stats::observe(std::size_t requests) {
  if (requests == 0) return;
  ++batches_;
  requests_ += requests;
  for (std::size_t i = 0; i < worker_stats::bounds.size(); ++i) {
    if (requests <= worker_stats::bounds[i]) {
      ++counts_[i];
      break;
    }
  }
}

worker_stats batch_stats::report(std::optional<std::uint64_t> active_streams,
                                 const decision_counters& decisions) const {
  worker_stats out;
  out.batches = batches_;
  out.requests = requests_;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) out.cumulative[i] = cumulative += counts_[i];
  out.active_streams = active_streams;
  out.decisions = decisions;
  out.batch_time = batch_time_;
  out.background_step_time = step_time_;
  return out;
}

}  // namespace streamgate
