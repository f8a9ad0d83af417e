#include "api/playback/verified_tokens.hpp"

namespace streamgate {

verified_tokens::verified_tokens(std::size_t capacity) : capacity_(capacity) {}

std::optional<playback_claims> verified_tokens::find(std::string_view token,
                                                     std::int64_t now_ms) const {
  const std::lock_guard lock(mutex_);
  const auto it = claims_.find(token);
  if (it == claims_.end() || it->second.expires_at_ms <= now_ms) return std::nullopt;
  return it->second;
}

void verified_tokens::remember(std::string_view token, const playback_claims& claims,
                               std::int64_t now_ms) {
  if (claims.expires_at_ms <= now_ms || capacity_ == 0) return;
  const std::lock_guard lock(mutex_);
  while (!order_.empty() &&
         (claims_.size() >= capacity_ || claims_.at(order_.front()).expires_at_ms <= now_ms)) {
    claims_.erase(order_.front());
    order_.pop_front();
  }
  if (claims_.emplace(std::string(token), claims).second) order_.emplace_back(token);
}

std::size_t verified_tokens::size() const {
  const std::lock_guard lock(mutex_);
  return claims_.size();
}

}  // namespace streamgate
