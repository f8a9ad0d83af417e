#pragma once

// Starts per user, rate limited in each api (hardening: one user sending a flood of starts, each
// one decided, remembered and written by a worker even when denied). A token bucket per user:
// `burst` starts at once, then `per_second`; a start beyond it is answered 429 `rate_limited`
// with Retry-After and never reaches a worker. Per api: behind N apis a user gets N times the
// rate, which still bounds what one user costs the workers.
//
// Bounded: a user whose bucket has refilled is the same as a user never seen, so such entries
// are dropped whenever the table grows past `max_tracked_users`.

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/error.hpp"

namespace streamgate {

struct api_services;

class start_rate_limit final {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t max_tracked_users = 100'000;

  // per_second 0 turns the limit off.
  start_rate_limit(double per_second, double burst);

  // Takes one start of `user_id` at `now`: nullopt when it may go, else how long until one may.
  std::optional<std::chrono::milliseconds> take(std::string_view user_id, clock::time_point now);

  std::size_t tracked_users() const;

 private:
  struct bucket {
    double tokens;
    clock::time_point at;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  double refilled(const bucket& b, clock::time_point now) const;
  void forget_full_buckets(clock::time_point now);

  const double per_second_;
  const double burst_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, bucket, string_hash, std::equal_to<>> buckets_;
};

// A refused start: the rate_limited error and how long until one may go.
struct start_refusal {
  error reason;
  std::chrono::milliseconds wait;
};

// Takes one start of `user_id` from the api's limit (REST and WebSocket alike), counting a
// refusal in /metrics; nullopt when the start may go or the api has no limit.
std::optional<start_refusal> refuse_start(const api_services& services, std::string_view user_id);

}  // namespace streamgate
