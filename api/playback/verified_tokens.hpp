#pragma once

// The playback tokens whose signature this api has checked (docs/design.md §9), so the check
// that every segment a player fetches makes (or nginx's auth_request before it) costs a lookup
// instead of an HMAC. Only what the signature proves is kept: the video, the expiry and the
// revocation set are still checked at every request. Only genuine tokens get in (a forged one
// fails its HMAC before), unexpired, at most `capacity`, the oldest going first; a token is
// forgotten once it has expired. Safe from any thread.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "api/playback/playback_token.hpp"

namespace streamgate {

class verified_tokens final {
 public:
  explicit verified_tokens(std::size_t capacity);

  // The claims of `token` if it was remembered and has not expired at `now_ms`.
  std::optional<playback_claims> find(std::string_view token, std::int64_t now_ms) const;
  // `claims` are what `token`'s verified signature says; an expired token is not kept.
  void remember(std::string_view token, const playback_claims& claims, std::int64_t now_ms);

  std::size_t size() const;

 private:
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, playback_claims, string_hash, std::equal_to<>> claims_;
  // Tokens in the order they were remembered: with one validity, the order they expire in.
  std::deque<std::string> order_;
};

}  // namespace streamgate
