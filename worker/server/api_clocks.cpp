#include "worker/server/api_clocks.hpp"

#include <chrono>
#include <cstdint>
#include <limits>

#include "common/messages.hpp"

namespace streamgate {

namespace {

constexpr std::chrono::minutes forget_after{1};

}  // namespace

void api_clocks::heard(std::string_view api, int offset_ms, steady_time now) {
  if (now >= next_sweep_) {
    std::erase_if(apis_, [&](const auto& a) { return now - a.second.heard_at >= forget_after; });
    next_sweep_ = now + forget_after;
  }
  apis_.insert_or_assign(std::string(api), api_clock{offset_ms, now});
}

std::int64_t api_clocks::deadline_here(std::string_view api, std::int64_t deadline_ms) const {
  if (deadline_ms == 0) return 0;
  const auto found = apis_.find(api);
  // A deadline is at most the codec's int64 range, an offset a day: the sum stays in range for
  // any deadline of this era, and one near the end of that range is no deadline anyone meant.
  return found == apis_.end() ||
                 deadline_ms > std::numeric_limits<std::int64_t>::max() - max_clock_offset_ms
             ? deadline_ms
             : deadline_ms + found->second.offset_ms;
}

}  // namespace streamgate
