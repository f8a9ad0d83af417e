#include "api/worker_link/clock_offset.hpp"

#include <algorithm>

#include "common/messages.hpp"

namespace streamgate {

void clock_offset::observe(std::int64_t sent_ms, std::int64_t worker_ms, std::int64_t received_ms) {
  if (received_ms < sent_ms) return;
  // Halves first, so the midpoint cannot overflow; nor may the difference from a reading that
  // no clock gives.
  std::int64_t offset = 0;
  if (__builtin_sub_overflow(worker_ms, sent_ms / 2 + received_ms / 2, &offset)) return;
  samples_[next_] = {received_ms - sent_ms, offset};
  next_ = (next_ + 1) % samples_.size();
  count_ = std::min(count_ + 1, samples_.size());
}

int clock_offset::offset_ms() const {
  if (count_ == 0) return 0;
  const auto best = std::min_element(
      samples_.begin(), samples_.begin() + static_cast<std::ptrdiff_t>(count_),
      [](const sample& a, const sample& b) { return a.round_trip_ms < b.round_trip_ms; });
  return static_cast<int>(
      std::clamp<std::int64_t>(best->offset_ms, -max_clock_offset_ms, max_clock_offset_ms));
}

}  // namespace streamgate
