// A shared store that holds no dataset is seeded by one worker at a time (worker/seed.hpp,
// docs/design.md §8): workers started at once, all told --seed, with different catalogs would
// otherwise each read back the plans at another moment of the other's writes, and decide by other
// limits.

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <string>
#include <vector>

#include "conformance.hpp"
#include "test_store.hpp"
#include "worker/seed.hpp"

namespace streamgate {

TEST_CASE("a worker that finds another seeding an empty store waits and seeds nothing",
          "[store][seeding]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto first = ts.open();
  auto second = ts.open();
  REQUIRE(first->take_seeding(seeding_turn_ms));
  CHECK_FALSE(second->take_seeding(seeding_turn_ms));

  // The second worker, told to seed data/catalog.json, while the first is seeding another catalog.
  const std::atomic<bool> stop{false};
  auto waited = std::async(std::launch::async, [&] {
    return seed_unless_another_does(*second, STREAMGATE_CATALOG, core::rules{}, stop);
  });
  first->seed(conformance::test_catalog(), {plain_user("alice")});
  const result<bool> seeded = waited.get();
  REQUIRE(seeded.has_value());
  CHECK_FALSE(*seeded);
  // The store holds the first worker's catalog alone: its plans, none of the other file's.
  const std::vector<plan> first_plans = {{"basic", 1, policy::deny},
                                         {"family", 3, policy::monitor},
                                         {"premium", 4, policy::evict_oldest}};
  CHECK(second->load_catalog().plans == first_plans);
  CHECK(second->user_ids() == std::vector<std::string>{"alice"});
}

TEST_CASE("a worker seeds an empty store when no other does, and an exclusive store always",
          "[store][seeding]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::atomic<bool> stop{false};
  const result<bool> seeded = seed_unless_another_does(*s, STREAMGATE_CATALOG, core::rules{}, stop);
  REQUIRE(seeded.has_value());
  CHECK(*seeded);
  CHECK(s->seeded());
  // Seeded once: a second worker told --seed seeds nothing (after the first, on SQLite).
  s.reset();
  auto again = ts.open();
  const result<bool> second =
      seed_unless_another_does(*again, STREAMGATE_CATALOG, core::rules{}, stop);
  REQUIRE(second.has_value());
  CHECK_FALSE(*second);
}

}  // namespace streamgate
