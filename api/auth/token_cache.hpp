#pragma once

// The api's memory of tokens a worker confirmed (--auth token), so a request with a known token
// costs one SHA-256 and a lookup instead of a worker round trip. Only confirmations are kept, and
// only for `ttl`: a token the store stops accepting is refused again after at most that long.
// Bounded: at capacity the oldest confirmation goes first. Safe from any thread.

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace streamgate {

class token_cache final {
 public:
  using clock = std::chrono::steady_clock;

  token_cache(std::size_t capacity, clock::duration ttl);

  // Whether the token whose SHA-256 is `token_hash` was confirmed as `user_id`'s within the ttl.
  bool confirmed(std::string_view user_id, std::string_view token_hash, clock::time_point now);
  void confirm(std::string_view user_id, std::string_view token_hash, clock::time_point now);
  // The user's token was replaced or the user deleted: its confirmations go (a scan: rare).
  void forget(std::string_view user_id);
  // Every confirmation goes: a revocation may have gone unheard.
  void clear();

  std::size_t size() const;

 private:
  struct entry {
    std::string user_id;
    clock::time_point expires;
  };
  struct queued {
    clock::time_point expires;
    std::string token_hash;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void prune(clock::time_point now);  // mutex_ held

  const std::size_t capacity_;
  const clock::duration ttl_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, entry, string_hash, std::equal_to<>> entries_;
  // Confirmations in the order they were made, which with one ttl is the order they expire in.
  std::deque<queued> order_;
};

}  // namespace streamgate
