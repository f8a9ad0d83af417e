#include "api/websocket/ws_registry.hpp"

#include <algorithm>
#include <utility>

namespace streamgate {

void ws_registry::add(const std::string& user_id, const std::shared_ptr<event_sink>& sink) {
  const std::lock_guard lock(mutex_);
  users_[user_id].push_back({sink.get(), sink});
}

std::size_t ws_registry::count_of(std::string_view user_id) const {
  const std::lock_guard lock(mutex_);
  const auto user = users_.find(user_id);
  return user == users_.end() ? 0 : user->second.size();
}

void ws_registry::remove(const std::string& user_id, const event_sink* sink) {
  const std::lock_guard lock(mutex_);
  const auto user = users_.find(user_id);
  if (user == users_.end()) return;
  std::erase_if(user->second, [sink](const entry& e) { return e.key == sink; });
  if (user->second.empty()) users_.erase(user);
}

std::vector<std::shared_ptr<event_sink>> ws_registry::sinks_of(std::string_view user_id) const {
  std::vector<std::shared_ptr<event_sink>> sinks;
  const std::lock_guard lock(mutex_);
  const auto user = users_.find(user_id);
  if (user == users_.end()) return sinks;
  sinks.reserve(user->second.size());
  for (const entry& e : user->second)
    if (auto sink = e.sink.lock()) sinks.push_back(std::move(sink));
  return sinks;
}

void ws_registry::publish(std::string_view user_id, std::string event, sequence_mark mark) {
  // Delivered outside the lock: a delivery posts to a strand, which may take its own locks.
  const std::vector<std::shared_ptr<event_sink>> sinks = sinks_of(user_id);
  if (sinks.empty()) return;
  // Braces, not make_shared's parentheses: clang 14 (the asan preset) lacks C++20's
  // parenthesised aggregate initialisation.
  const auto shared =
      std::make_shared<const user_event>(user_event{std::move(event), std::move(mark)});
  for (const auto& sink : sinks) sink->deliver(shared);
}

std::vector<std::shared_ptr<event_sink>> ws_registry::all_sinks() const {
  std::vector<std::shared_ptr<event_sink>> sinks;
  const std::lock_guard lock(mutex_);
  for (const auto& [user, entries] : users_)
    for (const entry& e : entries)
      if (auto sink = e.sink.lock()) sinks.push_back(std::move(sink));
  return sinks;
}

void ws_registry::notify(std::string_view user_id, std::string message) {
  const std::vector<std::shared_ptr<event_sink>> sinks = sinks_of(user_id);
  if (sinks.empty()) return;
  const auto shared = std::make_shared<const std::string>(std::move(message));
  for (const auto& sink : sinks) sink->notify(shared);
}

void ws_registry::resync_all() {
  for (const auto& sink : all_sinks()) sink->resync();
}

void ws_registry::revoke(std::string_view user_id) {
  for (const auto& sink : sinks_of(user_id)) sink->shut_down();
}

void ws_registry::shut_down_all() {
  for (const auto& sink : all_sinks()) sink->shut_down();
}

std::size_t ws_registry::size() const {
  const std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& [user, entries] : users_) count += entries.size();
  return count;
}

std::size_t ws_registry::users() const {
  const std::lock_guard lock(mutex_);
  return users_.size();
}

}  // namespace streamgate
