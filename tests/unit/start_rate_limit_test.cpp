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
