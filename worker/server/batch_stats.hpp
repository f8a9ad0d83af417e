#pragma once

// How many requests the worker decides per group commit: the batch size histogram the api
// exposes as streamgate_worker_batch_size (answer to the `stats` op, common/messages.hpp).
// Touched by the worker's one loop thread only.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "worker/server/decider.hpp"

namespace streamgate {

class batch_stats final {
 public:
  // Upper bounds of the buckets; beyond the last one a batch counts in +Inf only (batches).
  static constexpr std::array<std::uint64_t, 13> bounds{1,   2,   4,   8,    16,   32,   64,
                                                        128, 256, 512, 1024, 4096, 16384};

  // A batch that decided `requests` requests; an empty one (only lease expiry) is not a batch.
  void observe(std::size_t requests);

  // The `stats` reply: {"batches":N,"requests":M,"batchSize":[[1,c],[2,c],...]}, counts
  // cumulative per bound, plus "activeStreams" (live streams of all users) when the caller
  // knows it.
  // "decisions" carries the counters of the decisions this worker committed.
  std::string to_json(std::optional<std::uint64_t> active_streams,
                      const decision_counters& decisions) const;

  std::uint64_t batches() const { return batches_; }
  std::uint64_t requests() const { return requests_; }

 private:
  std::array<std::uint64_t, bounds.size()> counts_{};  // not cumulative
  std::uint64_t batches_ = 0;
  std::uint64_t requests_ = 0;
};

}  // namespace streamgate
