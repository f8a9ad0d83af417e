// The settings every worker of a shared store decides by (worker/server/dataset_settings.hpp,
// docs/design.md §8): a worker with other settings than a live one's is refused, and a worker
// whose dataset's settings another worker changed stops serving it.

#include "worker/server/dataset_settings.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "test_store.hpp"

namespace streamgate {

namespace {

const std::string three = "--default-max-streams 3 --policy deny";
const std::string five = "--default-max-streams 5 --policy monitor";

bool names(const std::vector<std::string>& lives, const std::string& life) {
  return std::find(lives.begin(), lives.end(), life) != lives.end();
}

}  // namespace

TEST_CASE("a shared store's workers decide by one set of settings", "[store][dataset_settings]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto a = ts.open();
  auto b = ts.open();
  claim_settings(*a, "lifea", three);
  CHECK(a->settings() == three);

  SECTION("a worker with others than a live worker's is refused, and never named alive") {
    REQUIRE(names(a->live_workers("lifea", 60'000), "lifea"));
    try {
      claim_settings(*b, "lifeb", five);
      FAIL("a worker with other settings was let in");
    } catch (const settings_disagree& e) {
      const std::string message = e.what();
      CHECK_THAT(message, Catch::Contains("'" + three + "'"));
      CHECK_THAT(message, Catch::Contains("'" + five + "'"));
    }
    CHECK(b->settings() == three);
    CHECK_FALSE(names(a->live_workers("lifea", 60'000), "lifeb"));
    CHECK_NOTHROW(check_settings(*a, three));
    // The same settings are let in.
    CHECK_NOTHROW(claim_settings(*b, "lifeb", three));
  }
  SECTION("they change when no worker lives, and a worker with the old ones stops serving") {
    // a never marked its life: as if it had stopped, or started at the same time as b.
    claim_settings(*b, "lifeb", five);
    CHECK(b->settings() == five);
    CHECK_NOTHROW(check_settings(*b, five));
    CHECK_THROWS_AS(check_settings(*a, three), store_lost);
  }
}

TEST_CASE("an exclusive store keeps no settings: its one worker's flags are they",
          "[store][dataset_settings]") {
  test_store ts("sqlite");
  auto s = ts.open();
  claim_settings(*s, "lifea", three);
  CHECK_FALSE(s->settings().has_value());
  CHECK_NOTHROW(check_settings(*s, five));
}

}  // namespace streamgate
