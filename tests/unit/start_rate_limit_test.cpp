// The per-user start rate limit (api/routes/start_rate_limit.hpp), with an injected clock.

#include "api/routes/start_rate_limit.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

using namespace streamgate;
using namespace std::chrono_literals;

TEST_CASE("a user gets the burst at once and then the rate, apart from other users", "[rate_limit]") {
  start_rate_limit limit(2, 3);  // 2 starts a second, 3 at once
  const auto t0 = start_rate_limit::clock::time_point{} + 1h;
  for (int i = 0; i < 3; ++i) CHECK_FALSE(limit.take("alice", t0));
  const auto wait = limit.take("alice", t0);
  REQUIRE(wait);
  CHECK(*wait == 500ms);  // one start every half second
  CHECK_FALSE(limit.take("bob", t0));
  CHECK(limit.take("alice", t0 + 499ms));
  // A second later two more have come.
  CHECK_FALSE(limit.take("alice", t0 + 1000ms));
  CHECK_FALSE(limit.take("alice", t0 + 1000ms));
  CHECK(limit.take("alice", t0 + 1000ms));
  // A long pause refills the burst, never past it.
  for (int i = 0; i < 3; ++i) CHECK_FALSE(limit.take("alice", t0 + 1h));
  CHECK(limit.take("alice", t0 + 1h));
}

TEST_CASE("a rate of 0 lets every start through", "[rate_limit]") {
  start_rate_limit off(0, 1);
  const auto t0 = start_rate_limit::clock::time_point{} + 1h;
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(off.take("alice", t0));
  CHECK(off.tracked_users() == 0);
}

TEST_CASE("the users tracked are bounded", "[rate_limit]") {
  start_rate_limit limit(1, 2);
  const auto t0 = start_rate_limit::clock::time_point{} + 1h;
  const std::size_t cap = start_rate_limit::max_tracked_users;
  for (std::size_t i = 0; i < cap; ++i) limit.take("u" + std::to_string(i), t0);
  CHECK(limit.tracked_users() == cap);
  // Every one still mid-burst: a new user is refused rather than the table grown.
  CHECK(limit.take("newcomer", t0));
  CHECK(limit.tracked_users() == cap);
  // Once their buckets refilled they are as good as unseen, and make room.
  CHECK_FALSE(limit.take("newcomer", t0 + 2s));
  CHECK(limit.tracked_users() == 1);
}

TEST_CASE("the wait a refusal names is never too short: a retry after it goes through",
          "[rate_limit]") {
  start_rate_limit limit(3, 1);  // a start every third of a second
  const auto t0 = start_rate_limit::clock::time_point{} + 1h;
  CHECK_FALSE(limit.take("alice", t0));
  const auto wait = limit.take("alice", t0);
  REQUIRE(wait);
  CHECK(*wait == 334ms);  // 333.3 rounded up, not down
  CHECK(limit.take("alice", t0 + 333ms));
  CHECK_FALSE(limit.take("alice", t0 + 333ms + *wait));
}

TEST_CASE("a start whose time was read before an earlier one's takes nothing back",
          "[rate_limit]") {
  // refuse_start reads the clock before it takes the lock, so two starts of a user may reach
  // the bucket out of order: the later one must not be charged for time running backwards, nor
  // the next one credited for the same time twice.
  start_rate_limit limit(1, 2);
  const auto t0 = start_rate_limit::clock::time_point{} + 1h;
  CHECK_FALSE(limit.take("alice", t0 + 10s));
  CHECK_FALSE(limit.take("alice", t0));
  CHECK(limit.take("alice", t0 + 10s));
}
