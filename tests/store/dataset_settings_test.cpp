// The settings every worker of a shared store decides by (worker/server/dataset_settings.hpp,
// docs/design.md §8): a worker with other settings than a live one's, or than one starting at the
// same moment, is refused, and a worker whose dataset's settings another worker changed stops
// serving it.

#include "worker/server/dataset_settings.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "test_store.hpp"
#include "wait.hpp"

namespace streamgate {

namespace {

const std::string three = "--default-max-streams 3 --policy deny";
const std::string five = "--default-max-streams 5 --policy monitor";

bool names(const std::vector<std::string>& lives, const std::string& life) {
  return std::find(lives.begin(), lives.end(), life) != lives.end();
}

// The lives marked alive now, read by a life of the test's own that marks nothing after.
std::vector<std::string> lives_now(store& s) {
  std::vector<std::string> lives = s.live_workers("l_probe", 1);
  s.end_life("l_probe");
  return lives;
}

}  // namespace

TEST_CASE("a shared store's workers decide by one set of settings", "[store][dataset_settings]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto a = ts.open();
  auto b = ts.open();

  SECTION("a worker with others than a live worker's is refused, and never named alive") {
    claim_settings(*a, "lifea", three);
    CHECK(a->settings() == three);
    REQUIRE(names(a->live_workers("lifea", 60'000), "lifea"));
    const std::string message =
        message_thrown<settings_disagree>([&] { claim_settings(*b, "lifeb", five); });
    CHECK_THAT(message, Catch::Contains("served by 1 worker"));
    CHECK_THAT(message, Catch::Contains("'" + three + "'"));
    CHECK_THAT(message, Catch::Contains("'" + five + "'"));
    CHECK(b->settings() == three);
    CHECK_FALSE(names(lives_now(*a), "lifeb"));
    CHECK_NOTHROW(check_settings(*a, three));
    // The same settings are let in.
    CHECK_NOTHROW(claim_settings(*b, "lifeb", three));
  }
  SECTION("of two workers starting at once with others, the first to claim is let in") {
    // a has claimed and not marked its life yet (its loop does once its sockets are bound).
    claim_settings(*a, "lifea", three);
    CHECK_FALSE(names(lives_now(*b), "lifea"));
    const std::string message =
        message_thrown<settings_disagree>([&] { claim_settings(*b, "lifeb", five); });
    CHECK_THAT(message, Catch::Contains("at the same moment"));
    CHECK_THAT(message, Catch::Contains("'" + three + "'"));
    CHECK_THAT(message, Catch::Contains("'" + five + "'"));
    CHECK(b->settings() == three);
    CHECK_NOTHROW(check_settings(*a, three));
    // The same settings are let in.
    CHECK_NOTHROW(claim_settings(*b, "lifeb", three));
  }
  SECTION("another worker's announcement keeps out others before the store holds any settings") {
    CHECK(a->announce_settings(three, 60'000) == three);
    CHECK_THAT(message_thrown<settings_disagree>([&] { claim_settings(*b, "lifeb", five); }),
               Catch::Contains("at the same moment"));
    CHECK_FALSE(b->settings().has_value());
  }
  SECTION("they change once no worker lives or starts, and a worker with the old ones stops") {
    claim_settings(*a, "lifea", three);
    // a never marks its life, as if it had died or stopped: once its announcement lapses, b's
    // claim is let in.
    CHECK(it::wait_until(
        [&] {
          return message_thrown<settings_disagree>([&] { claim_settings(*b, "lifeb", five); })
              .empty();
        },
        std::chrono::seconds(20)));
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
