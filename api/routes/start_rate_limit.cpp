#include "api/routes/start_rate_limit.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "api/metrics/metrics.hpp"
#include "api/services.hpp"

namespace streamgate {

start_rate_limit::start_rate_limit(double per_second, double burst)
    : per_second_(per_second), burst_(std::max(burst, 1.0)) {}

double start_rate_limit::refilled(const bucket& b, clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  return std::min(burst_, b.tokens + std::max(elapsed, 0.0) * per_second_);
}

void start_rate_limit::forget_full_buckets(clock::time_point now) {
  std::erase_if(buckets_, [&](const auto& entry) { return refilled(entry.second, now) >= burst_; });
}

std::optional<std::chrono::milliseconds> start_rate_limit::take(std::string_view user_id,
                                                                clock::time_point now) {
  if (per_second_ <= 0) return std::nullopt;
  const std::lock_guard lock(mutex_);
  auto found = buckets_.find(user_id);
  if (found == buckets_.end()) {
    if (buckets_.size() >= max_tracked_users) forget_full_buckets(now);
    // Still full of users mid-burst: refuse rather than grow without bound.
    if (buckets_.size() >= max_tracked_users) return std::chrono::milliseconds(1000);
    found = buckets_.emplace(std::string(user_id), bucket{burst_, now}).first;
  }
  bucket& b = found->second;
  b.tokens = refilled(b, now);
  b.at = std::max(b.at, now);  // a start that read the clock first must not rewind it
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  const double wait_seconds = (1.0 - b.tokens) / per_second_;
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(wait_seconds * 1000)));
}

std::size_t start_rate_limit::tracked_users() const {
  const std::lock_guard lock(mutex_);
  return buckets_.size();
}

std::optional<start_refusal> refuse_start(const api_services& services, std::string_view user_id) {
  if (services.start_limit == nullptr) return std::nullopt;
  const auto wait = services.start_limit->take(user_id, start_rate_limit::clock::now());
  if (!wait) return std::nullopt;
  metrics().count_rate_limited_start();
  return start_refusal{error{error_code::rate_limited, "too many starts for this user; retry after " +
                                                          std::to_string(wait->count()) + " ms"},
                       *wait};
}

}  // namespace streamgate
