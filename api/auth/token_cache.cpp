#include "api/auth/token_cache.hpp"

#include <algorithm>

namespace streamgate {

token_cache::token_cache(std::size_t capacity, clock::duration ttl)
    : capacity_(std::max<std::size_t>(capacity, 1)), ttl_(ttl) {}

bool token_cache::confirmed(std::string_view user_id, std::string_view token_hash,
                            clock::time_point now) {
  const std::lock_guard lock(mutex_);
  const auto found = entries_.find(token_hash);
  return found != entries_.end() && found->second.user_id == user_id && now < found->second.expires;
}

void token_cache::confirm(std::string_view user_id, std::string_view token_hash,
                          clock::time_point now) {
  const std::lock_guard lock(mutex_);
  prune(now);
  while (entries_.size() >= capacity_ && !order_.empty()) {
    const queued& oldest = order_.front();
    const auto found = entries_.find(oldest.token_hash);
    if (found != entries_.end() && found->second.expires == oldest.expires) entries_.erase(found);
    order_.pop_front();
  }
  const clock::time_point expires = now + ttl_;
  entries_.insert_or_assign(std::string(token_hash), entry{std::string(user_id), expires});
  order_.push_back({expires, std::string(token_hash)});
}

void token_cache::forget(std::string_view user_id) {
  const std::lock_guard lock(mutex_);
  // The order queue keeps its records: prune() and confirm() skip those whose entry is gone.
  std::erase_if(entries_, [&](const auto& e) { return e.second.user_id == user_id; });
}

void token_cache::clear() {
  const std::lock_guard lock(mutex_);
  entries_.clear();
  order_.clear();
}

std::size_t token_cache::size() const {
  const std::lock_guard lock(mutex_);
  return entries_.size();
}

void token_cache::prune(clock::time_point now) {
  while (!order_.empty() && order_.front().expires <= now) {
    // A token confirmed again since has a later expiry: its newer record keeps it.
    const auto found = entries_.find(order_.front().token_hash);
    if (found != entries_.end() && found->second.expires == order_.front().expires)
      entries_.erase(found);
    order_.pop_front();
  }
}

}  // namespace streamgate
