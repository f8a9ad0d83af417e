// The worker's record of how far each api's clock is from its own (worker/server/api_clocks.hpp):
// each api's deadlines read in the worker's clock with the offset of its last ping
// (docs/design.md §5).

#include "worker/server/api_clocks.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <limits>

#include "common/messages.hpp"

using streamgate::api_clocks;
using streamgate::max_clock_offset_ms;
using namespace std::chrono_literals;

TEST_CASE("an api's deadline is read with the offset of its last ping, per api", "[unit][worker]") {
  api_clocks clocks;
  const auto t = std::chrono::steady_clock::now();
  // Not heard yet: taken to share the worker's clock.
  CHECK(clocks.deadline_here("api-1", 10'000) == 10'000);
  clocks.heard("api-1", 5'000, t);
  clocks.heard("api-2", -2'000, t);
  CHECK(clocks.deadline_here("api-1", 10'000) == 15'000);
  CHECK(clocks.deadline_here("api-2", 10'000) == 8'000);
  CHECK(clocks.deadline_here("api-3", 10'000) == 10'000);
  // No deadline stays none.
  CHECK(clocks.deadline_here("api-1", 0) == 0);
  clocks.heard("api-1", 3, t + 500ms);
  CHECK(clocks.deadline_here("api-1", 10'000) == 10'003);
}

TEST_CASE("an api not heard for a minute is forgotten", "[unit][worker]") {
  api_clocks clocks;
  const auto t = std::chrono::steady_clock::now();
  clocks.heard("gone", 5'000, t);
  clocks.heard("here", 5'000, t + 59s);
  clocks.heard("here", 5'000, t + 61s);
  CHECK(clocks.deadline_here("gone", 10'000) == 10'000);
  CHECK(clocks.deadline_here("here", 10'000) == 15'000);
}

TEST_CASE("a deadline near the end of its range is not pushed past it", "[unit][worker]") {
  api_clocks clocks;
  clocks.heard("api", max_clock_offset_ms, std::chrono::steady_clock::now());
  const std::int64_t last = std::numeric_limits<std::int64_t>::max();
  CHECK(clocks.deadline_here("api", last) == last);
  CHECK(clocks.deadline_here("api", last - max_clock_offset_ms) == last);
}
