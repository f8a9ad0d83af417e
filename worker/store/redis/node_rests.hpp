#pragma once

// The Redis nodes a redis_router leaves alone for a while after they failed (router.hpp): for
// twice as long as the failure took and at least a second, so that a node that hangs costs the
// batches at most a third of their time, and one that refuses connections is not asked again at
// every batch.

#include <chrono>
#include <string>
#include <vector>

#include "worker/store/redis/connection.hpp"

namespace streamgate {

class node_rests final {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds shortest{1};

  // Why `node` is left alone now; null when it is not.
  const std::string* reason(const redis_address& node) const;
  // Leaves `node` alone after a failure that began at `since`, and logs it.
  void rest(const redis_address& node, clock::time_point since, const std::string& reason);

 private:
  struct resting {
    redis_address node;
    clock::time_point until;
    std::string reason;
  };
  std::vector<resting> resting_;  // lapsed entries are dropped at the next rest()
};

}  // namespace streamgate
