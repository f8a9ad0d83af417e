// The store conformance suite (conformance.hpp): every case runs against SQLite, a redis-server and
// a three-master Redis Cluster, so the worker can rely on the same contract whichever store it is
// given. Only the interface is used; what a store does inside (its keys, its tables) is its own
// tests'.
// Here: the audit trail, a user's remembered starts past their cap, and a user removed with
// its trail and indexes.

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conformance.hpp"
#include "test_store.hpp"
#include "worker/store/store.hpp"

namespace streamgate::conformance {

TEST_CASE("the audit trail gets each commit's lines, newest first, per user",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  std::vector<audit_entry> appended;
  const auto commit_with = [&](core::user_state state, std::vector<audit_entry> lines) {
    const commit_status answer = commit_one(*s, commit_of(std::move(state), lines));
    if (answer == commit_status::committed)
      appended.insert(appended.end(), lines.begin(), lines.end());
    return answer;
  };

  core::user_state alice = plain_user("alice");
  REQUIRE(commit_with(alice, {audit_line("alice", now, "allowed", "r1", "s1"),
                              audit_line("alice", now, "denied", "r2", "", "limit_reached")}) ==
          commit_status::committed);
  alice.version = 1;
  REQUIRE(commit_with(alice, {audit_line("alice", now + 10, "stopped", "", "s1")}) ==
          commit_status::committed);
  // A commit without lines appends none.
  alice.version = 2;
  REQUIRE(commit_with(alice, {}) == commit_status::committed);
  alice.version = 3;
  REQUIRE(commit_with(alice, {audit_line("alice", now + 20, "allowed", "r3", "s3"),
                              audit_line("alice", now + 20, "evicted", "", "s3"),
                              audit_line("alice", now + 21, "expired", "", "s4")}) ==
          commit_status::committed);
  // Refused: its lines are not written.
  alice.version = 1;
  REQUIRE(commit_with(alice, {audit_line("alice", now + 30, "allowed", "r-stale", "s-stale")}) ==
          commit_status::conflict);

  core::user_state bob = plain_user("bob");
  const std::vector<audit_entry> bob_lines = {audit_line("bob", now + 5, "allowed", "rb", "sb")};
  REQUIRE(commit_one(*s, commit_of(bob, bob_lines)) == commit_status::committed);

  REQUIRE(appended.size() == 6);
  CHECK(shown(s->recent_audit("alice", 100)) == newest_first(appended, 100));
  for (const int limit : {1, 2, 5, 6, 7}) {
    CAPTURE(limit);
    CHECK(shown(s->recent_audit("alice", limit)) ==
          newest_first(appended, static_cast<std::size_t>(limit)));
  }
  CHECK(s->recent_audit("alice", 0).empty());
  CHECK(shown(s->recent_audit("bob", 100)) == shown(bob_lines));
  CHECK(s->recent_audit("nobody", 100).empty());
}

TEST_CASE("a removed user is gone from the store, its trail and indexes; a stale removal conflicts",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state alice = plain_user("alice");
  alice.streams = {stream_of("alice", "s1", now - 1'000)};
  user_commit created =
      commit_of(alice, {audit_line("alice", now, "allowed", "r1", "s1")}, now - 1'000);
  created.streams_delta = 1;
  REQUIRE(s->commit({created, commit_of(plain_user("bob"))}) ==
          std::vector<commit_status>(2, commit_status::committed));
  REQUIRE(named_due(*s, "alice", now));

  user_commit removal = commit_of(alice);  // at version 0: stale
  removal.remove = true;
  removal.streams_delta = -1;
  CHECK(commit_one(*s, removal) == commit_status::conflict);
  CHECK(load_one(*s, "alice").streams.size() == 1);

  removal.state.version = 1;
  REQUIRE(commit_one(*s, removal) == commit_status::committed);
  const loaded_users after = s->load({"alice", "bob"});
  CHECK_FALSE(after.states[0].has_value());
  CHECK(after.states[1].has_value());
  CHECK(s->recent_audit("alice", 10).empty());
  CHECK(s->user_ids() == std::vector<std::string>{"bob"});
  CHECK_FALSE(named_due(*s, "alice", now));
  if (const auto active = s->active_streams()) CHECK(*active == 0);

  // The id is free again: a new user may take it.
  REQUIRE(commit_one(*s, commit_of(plain_user("alice"))) == commit_status::committed);
  CHECK(load_one(*s, "alice").version == 1);
  CHECK(load_one(*s, "alice").streams.empty());
}

TEST_CASE("a user's starts come back beside its state, the newest of them past the cap",
          "[store][conformance][starts]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;
  REQUIRE(commit_one(*s, commit_of(plain_user("hana"))) == commit_status::committed);

  // Each commit adds one start, as the decision core commits them; the state itself stays small.
  constexpr std::size_t cap = core::remembered_starts_per_user;
  const std::size_t made = cap + cap / 8 + 1;
  core::user_state hana = load_one(*s, "hana");
  for (std::size_t i = 0; i < made; ++i) {
    const std::string id = "rh-" + std::to_string(i);
    hana.starts.push_back(denied_start(id, now + static_cast<std::int64_t>(i)));
    REQUIRE(commit_one(*s, commit_of(hana, {}, std::nullopt, {id})) == commit_status::committed);
    ++hana.version;
  }
  const core::user_state loaded = load_one(*s, "hana");
  CHECK(loaded.version == hana.version);
  REQUIRE(loaded.starts.size() == cap);
  CHECK(loaded.starts.front() == hana.starts[made - cap]);
  CHECK(loaded.starts.back() == hana.starts.back());
  CHECK(s->request_owner("rh-" + std::to_string(made - 1)) == std::optional<std::string>("hana"));
  if (ts.sqlite()) CHECK_FALSE(s->request_owner("rh-0"));  // Redis forgets it by its TTL

  // Removed with the user.
  core::user_state gone = loaded;
  REQUIRE(commit_one(*s, [&] {
            user_commit c = commit_of(gone);
            c.remove = true;
            return c;
          }()) == commit_status::committed);
  REQUIRE(commit_one(*s, commit_of(plain_user("hana"))) == commit_status::committed);
  CHECK(load_one(*s, "hana").starts.empty());
}

}  // namespace streamgate::conformance
