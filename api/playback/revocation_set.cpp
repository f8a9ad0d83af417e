#include "api/playback/revocation_set.hpp"

#include <algorithm>

namespace streamgate {

revocation_set::revocation_set(std::int64_t retention_ms, std::size_t capacity)
    : retention_ms_(retention_ms), capacity_(std::max<std::size_t>(capacity, 1)) {}

void revocation_set::drop_oldest() {
  auto& [ended, stream_id] = by_age_.front();
  const auto found = ended_at_.find(stream_id);
  // A stream revoked twice has one map entry and two queue entries: the later one owns it.
  if (found != ended_at_.end() && found->second == ended) ended_at_.erase(found);
  by_age_.pop_front();
}

void revocation_set::revoke(std::string_view stream_id, std::int64_t now_ms) {
  const std::lock_guard lock(mutex_);
  while (!by_age_.empty() && by_age_.front().first + retention_ms_ < now_ms) drop_oldest();
  while (by_age_.size() >= capacity_) {
    distrusted_before_ = std::max(distrusted_before_, by_age_.front().first);
    drop_oldest();
  }
  ended_at_.insert_or_assign(std::string(stream_id), now_ms);
  by_age_.emplace_back(now_ms, std::string(stream_id));
}

void revocation_set::distrust_before(std::int64_t ms) {
  const std::lock_guard lock(mutex_);
  distrusted_before_ = std::max(distrusted_before_, ms);
}

revocation_set::verdict revocation_set::check(std::string_view stream_id,
                                              std::int64_t signed_at_ms) const {
  const std::lock_guard lock(mutex_);
  if (ended_at_.find(stream_id) != ended_at_.end()) return verdict::revoked;
  if (signed_at_ms < distrusted_before_) return verdict::distrusted;
  return verdict::valid;
}

std::size_t revocation_set::size() const {
  const std::lock_guard lock(mutex_);
  return ended_at_.size();
}

}  // namespace streamgate
