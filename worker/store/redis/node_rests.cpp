#include "worker/store/redis/node_rests.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace streamgate {

const std::string* node_rests::reason(const redis_address& node) const {
  const auto now = clock::now();
  for (const resting& r : resting_)
    if (r.node == node && r.until > now) return &r.reason;
  return nullptr;
}

void node_rests::rest(const redis_address& node, clock::time_point since,
                      const std::string& reason) {
  const auto now = clock::now();
  const auto length = std::max<clock::duration>(shortest, 2 * (now - since));
  std::erase_if(resting_, [&](const resting& r) { return r.until <= now || r.node == node; });
  resting_.push_back({node, now + length, reason});
  spdlog::warn("redis {} failed ({}); what goes to it fails for {} ms", to_string(node), reason,
               std::chrono::duration_cast<std::chrono::milliseconds>(length).count());
}

}  // namespace streamgate
