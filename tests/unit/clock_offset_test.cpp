// How far a worker's clock is from the api's, from ping round trips
// (api/worker_link/clock_offset.hpp): the answer of the shortest round trip, so that pings that
// waited in a hung worker's queue do not move the deadlines it reads (docs/design.md §5).

#include "api/worker_link/clock_offset.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>

#include "common/messages.hpp"

using streamgate::clock_offset;
using streamgate::max_clock_offset_ms;

namespace {

// A ping sent at `sent` (api clock) to a worker whose clock is `offset` ahead, which answered
// `waited` ms after the ping left, its answer back 1 ms later.
void ping(clock_offset& c, std::int64_t sent, std::int64_t offset, std::int64_t waited) {
  c.observe(sent, sent + waited + offset, sent + waited + 1);
}

}  // namespace

TEST_CASE("a worker's clock offset is the midpoint of a ping's round trip, 0 until measured",
          "[unit][worker_link]") {
  clock_offset c;
  CHECK(c.offset_ms() == 0);
  c.observe(1'000, 6'010, 1'020);  // sent at 1,000, answered at 1,010 with 6,010
  CHECK(c.offset_ms() == 5'000);
  c.observe(2'000, 1'000, 2'000);  // one 1,000 ms behind, round trip 0: the best yet
  CHECK(c.offset_ms() == -1'000);
}

TEST_CASE("pings that waited in a hung worker's queue barely move the offset",
          "[unit][worker_link]") {
  clock_offset c;
  ping(c, 1'000, 5'000, 0);
  SECTION("fewer than sixteen: the measure from before the hang stays") {
    // Hung for ten seconds, answered the pings of its last 1.5 s at once (the api forgets older
    // ones): the older the longer they waited. Each alone would put the worker's clock up to
    // 0.7 s further ahead than it is.
    for (std::int64_t sent = 10'000; sent < 11'500; sent += 100)
      ping(c, sent, 5'000, 11'500 - sent);
    CHECK(c.offset_ms() == 5'000);
  }
  SECTION("more: no further off than half the shortest of their round trips") {
    for (std::int64_t sent = 1'500; sent < 11'500; sent += 100) ping(c, sent, 5'000, 11'500 - sent);
    CHECK(c.offset_ms() >= 5'000);
    CHECK(c.offset_ms() <= 5'000 + 100 / 2);
  }
}

TEST_CASE("a clock that steps is followed once sixteen pings have measured it",
          "[unit][worker_link]") {
  clock_offset c;
  ping(c, 0, 0, 0);  // the best round trip of all
  for (int i = 1; i <= 15; ++i) ping(c, i * 500, 3'000, 0);
  CHECK(c.offset_ms() == 0);
  ping(c, 8'000, 3'000, 0);
  CHECK(c.offset_ms() == 3'000);
}

TEST_CASE("a round trip the api's clock ran backwards over, or an absurd reading, is no measure",
          "[unit][worker_link]") {
  clock_offset c;
  c.observe(5'000, 9'999'999, 4'000);
  CHECK(c.offset_ms() == 0);
  c.observe(0, std::numeric_limits<std::int64_t>::min(), 1'000'000);
  CHECK(c.offset_ms() == 0);
  // Beyond a day it is clamped: what a ping may carry (common/messages.hpp).
  c.observe(0, std::numeric_limits<std::int64_t>::max(), 0);
  CHECK(c.offset_ms() == max_clock_offset_ms);
}
