#pragma once

// The streams this api saw end (docs/design.md §9), so their playback tokens are refused at once
// instead of when they expire. Fed by the workers' `ended` events; read by every media request.
//
// Bounded two ways. An entry is dropped once no token of its stream can still be valid (its end
// plus `retention`, the longest validity a token can have). And at most `capacity` entries are
// kept: to make room, the oldest is dropped early, and then every token signed before that
// stream ended is refused too ("distrusted"), so a flood of ends never re-admits an ended stream;
// live streams get a fresh token with their next heartbeat. The same distrust covers a gap in
// what this api heard (a worker that reconnected may have ended streams unheard).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace streamgate {

class revocation_set final {
 public:
  revocation_set(std::int64_t retention_ms, std::size_t capacity);

  void revoke(std::string_view stream_id, std::int64_t now_ms);
  // Tokens signed before `ms` are refused from now on.
  void distrust_before(std::int64_t ms);

  enum class verdict { valid, revoked, distrusted };
  // What becomes of a token of `stream_id` signed at `signed_at_ms`.
  verdict check(std::string_view stream_id, std::int64_t signed_at_ms) const;

  std::size_t size() const;

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  void drop_oldest();

  const std::int64_t retention_ms_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::int64_t, string_hash, std::equal_to<>> ended_at_;
  std::deque<std::pair<std::int64_t, std::string>> by_age_;  // (ended at, stream), oldest first
  std::int64_t distrusted_before_ = 0;
};

}  // namespace streamgate
