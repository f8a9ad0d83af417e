// A requestId is one user's (docs/design.md §2) on every store: another user's start with it is
// refused with 409, in the same batch too, and a user that remembers it always replays its own
// verdict, even when the store's request index names another user (two workers deciding two
// users' starts with it at once, §8).

#include <catch2/catch.hpp>
#include <string>
#include <variant>

#include "decider_support.hpp"

namespace streamgate {

TEST_CASE("of two users' starts with one requestId in a batch, the second is refused with 409",
          "[store][decider][request_id]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules());

  const batch_result both = decide(w.d, {start_of("alice", "shared"), start_of("bob", "shared")});
  CHECK(both.replies[0].status == outcome::allowed);
  CHECK(both.replies[1].status == outcome::conflict);
  CHECK(both.events.size() == 1);  // bob's start was never decided
  CHECK(live_streams(w.d, "bob").empty());

  // And in later batches, whichever comes first: bob's start is refused again, and alice's
  // retry replays her verdict.
  const batch_result again = decide(w.d, {start_of("bob", "shared"), start_of("alice", "shared")});
  CHECK(again.replies[0].status == outcome::conflict);
  CHECK(again.replies[1].body == both.replies[0].body);
}

TEST_CASE("a user that remembers a requestId another user holds too replays its own verdict",
          "[store][decider][request_id]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules());

  const batch_result alice = decide(w.d, {start_of("alice", "shared")});
  REQUIRE(alice.replies[0].status == outcome::allowed);
  // Bob's start with it is marked made by the api, so it is not looked up: what two workers
  // deciding both starts at once leave behind, both users holding the id.
  start_request made = start_of("bob", "shared");
  made.request_id_made = true;
  const batch_result bob = decide(w.d, {made});
  REQUIRE(bob.replies[0].status == outcome::allowed);

  // A client's retry names the id (not made): each user gets its own verdict back, the same
  // stream, and no second decision.
  const batch_result retries =
      decide(w.d, {start_of("bob", "shared"), start_of("alice", "shared")});
  CHECK(retries.replies[0].status == outcome::allowed);
  CHECK(retries.replies[0].body == bob.replies[0].body);
  CHECK(retries.replies[1].body == alice.replies[0].body);
  CHECK(live_streams(w.d, "bob").size() == 1);
  CHECK(live_streams(w.d, "alice").size() == 1);
}

}  // namespace streamgate
