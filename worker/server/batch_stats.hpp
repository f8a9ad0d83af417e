#pragma once

// How many requests the worker decides per group commit: the batch size histogram the api
// exposes as streamgate_worker_batch_size (answer to the `stats` op, common/worker_replies.hpp).
// Touched by the worker's one loop thread only.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "common/worker_replies.hpp"

namespace streamgate {

class batch_stats final {
 public:
  // A batch that decided `requests` requests; an empty one (only lease expiry) is not a batch.
  void observe(std::size_t requests);

  // The `stats` reply, with the live streams of all users when the caller knows them.
  worker_stats report(std::optional<std::uint64_t> active_streams,
                      const decision_counters& decisions) const;

  std::uint64_t batches() const { return batches_; }
  std::uint64_t requests() const { return requests_; }

 private:
  std::array<std::uint64_t, worker_stats::bounds.size()> counts_{};  // not cumulative
  std::uint64_t batches_ = 0;
  std::uint64_t requests_ = 0;
};

}  // namespace streamgate
