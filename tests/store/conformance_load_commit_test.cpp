// The store conformance suite (conformance.hpp): every case runs against SQLite, a redis-server and
// a three-master Redis Cluster, so the worker can rely on the same contract whichever store it is
// given. Only the interface is used; what a store does inside (its keys, its tables) is its own
// tests'.
// Here: seeding, loading with the store's clock, a first commit, the dataset id, and what
// survives a restart of the store.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "conformance.hpp"
#include "test_store.hpp"
#include "worker/store/store.hpp"

namespace streamgate::conformance {

TEST_CASE("a seed stores the catalog and the users of a fresh store, overwriting none",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  CHECK_FALSE(s->seeded());
  CHECK(s->user_ids().empty());

  core::user_state bob = plain_user("bob");
  bob.u.plan = "basic";
  const std::vector<core::user_state> users = {bob, full_user("alice"), plain_user("carol")};
  s->seed(test_catalog(), users);
  CHECK(s->seeded());

  const dataset_catalog catalog = s->load_catalog();
  REQUIRE(catalog.videos.size() == 3);
  CHECK(catalog.videos[0].id == "v01");
  CHECK(catalog.videos[0].title == "One \xe2\x80\x94 first");
  CHECK(catalog.videos[0].duration_seconds == 60);
  CHECK(catalog.videos[1].id == "v02");
  CHECK(catalog.videos[1].duration_seconds == 0);
  CHECK(catalog.videos[2].id == "v03");
  CHECK(catalog.videos[2].title == "Three");
  CHECK(catalog.videos[2].duration_seconds == 5400);
  const std::vector<plan> expected_plans = {{"basic", 1, policy::deny},
                                            {"family", 3, policy::monitor},
                                            {"premium", 4, policy::evict_oldest}};
  CHECK(catalog.plans == expected_plans);

  CHECK(s->user_ids() == std::vector<std::string>{"alice", "bob", "carol"});
  const loaded_users loaded = s->load({"carol", "alice", "bob"});
  REQUIRE(loaded.states.size() == 3);
  REQUIRE(loaded.states[0].has_value());
  REQUIRE(loaded.states[1].has_value());
  REQUIRE(loaded.states[2].has_value());
  // A seeded user is stored as a commit from nothing would store it: version 1.
  CHECK(*loaded.states[0] == at_version(users[2], 1));
  CHECK(*loaded.states[1] == at_version(users[1], 1));
  CHECK(*loaded.states[2] == at_version(users[0], 1));

  // The version loaded is the one a commit must name: the next commit takes it to 2.
  core::user_state renamed = *loaded.states[2];
  renamed.u.name = "Bob, renamed since the seed";
  REQUIRE(commit_one(*s, commit_of(renamed)) == commit_status::committed);
  CHECK(load_one(*s, "bob") == at_version(renamed, 2));

  // A second seed (another worker's, or the next start's) adds a new user and keeps bob as he is.
  s->seed(test_catalog(), {users[0], users[1], users[2], plain_user("dave")});
  CHECK(s->seeded());
  CHECK(load_one(*s, "bob") == at_version(renamed, 2));
  CHECK(load_one(*s, "alice") == at_version(users[1], 1));
  CHECK(load_one(*s, "dave") == at_version(plain_user("dave"), 1));
  CHECK(s->user_ids() == std::vector<std::string>{"alice", "bob", "carol", "dave"});
  CHECK(s->load_catalog().plans == expected_plans);
}

TEST_CASE("a load answers in the order asked, nothing for unknown users, with the store's clock",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  s->seed(test_catalog(), {plain_user("alice"), plain_user("bob")});

  const loaded_users loaded = s->load({"nobody", "bob", "ghost", "alice", "nobody"});
  REQUIRE(loaded.states.size() == 5);
  CHECK_FALSE(loaded.states[0].has_value());
  REQUIRE(loaded.states[1].has_value());
  CHECK(loaded.states[1]->u.id == "bob");
  CHECK_FALSE(loaded.states[2].has_value());
  REQUIRE(loaded.states[3].has_value());
  CHECK(loaded.states[3]->u.id == "alice");
  CHECK_FALSE(loaded.states[4].has_value());
  CHECK(s->load({}).states.empty());

  // The store's clock is the wall clock's milliseconds (Redis TIME on loopback: the same host).
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  CHECK(loaded.now_ms > wall - 60'000);
  CHECK(loaded.now_ms < wall + 60'000);

  std::int64_t previous = loaded.now_ms;
  for (int i = 0; i < 50; ++i) {
    const std::int64_t now = s->load({"alice"}).now_ms;
    CAPTURE(i, previous, now);
    CHECK(now >= previous);
    previous = now;
  }
}

TEST_CASE("a load that asks for nothing gives the store's clock, never ahead of it",
          "[store][conformance]") {
  // The worker's load when every user is cached and no requestId needs an owner: Redis answers
  // it from its last TIME without a round trip (redis_store::estimated_now_ms).
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  s->seed(test_catalog(), {plain_user("alice")});
  const auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };

  core::user_state alice = load_one(*s, "alice");
  for (int i = 0; i < 20; ++i) {
    const std::int64_t before = wall_ms();
    alice.u.name = "Alice " + std::to_string(i);
    REQUIRE(commit_one(*s, commit_of(alice)) == commit_status::committed);
    ++alice.version;
    const std::int64_t first = s->load({}).now_ms;
    const std::int64_t second = s->load({}).now_ms;
    const std::int64_t after = wall_ms();
    CAPTURE(i, before, first, second, after);
    // Redis TIME on loopback is this host's wall clock: the estimate is the server's clock as it
    // was read with the commit, plus the time since, so it lies within the commit's span.
    CHECK(first >= before);
    CHECK(first <= second);
    CHECK(second <= after);
  }
}

TEST_CASE("a new user's commit loads back exactly at version 1 and a second create conflicts",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state erin = full_user("erin");
  const stream first = stream_of("erin", "s1", now + 90'000);
  // A stream of another user's id is kept as it is (the codec spells the owner out then).
  stream other = stream_of("frank", "s2", now + 60'000);
  erin.streams = {first, other};
  erin.starts = {start_for("r1", first), denied_start("r2", now - 5)};
  erin.seq = 41;
  REQUIRE(commit_one(*s, commit_of(erin, {}, now + 60'000, {"r1", "r2"})) ==
          commit_status::committed);
  CHECK(load_one(*s, "erin") == at_version(erin, 1));
  CHECK(s->user_ids() == std::vector<std::string>{"erin"});

  // Created twice from nothing (two workers creating one user): the second is refused.
  core::user_state again = plain_user("erin");
  CHECK(commit_one(*s, commit_of(again, {audit_line("erin", now, "allowed", "r9")})) ==
        commit_status::conflict);
  CHECK(load_one(*s, "erin") == at_version(erin, 1));
  CHECK(s->recent_audit("erin", 10).empty());
}

TEST_CASE("the dataset id is made once and is the same for every open of the store",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::string id = s->dataset_id();
  CHECK_FALSE(id.empty());
  s->seed(test_catalog(), {plain_user("alice")});
  CHECK(s->dataset_id() == id);

  if (ts.sqlite()) {
    s.reset();
    auto reopened = ts.open();
    CHECK(reopened->dataset_id() == id);
    CHECK(reopened->seeded());
  } else {
    // Two workers share it, and a worker opening later finds it too.
    auto other = ts.open();
    CHECK(other->dataset_id() == id);
    CHECK(other->seeded());
    s.reset();
    auto later = ts.open();
    CHECK(later->dataset_id() == id);
  }

  // Another deployment's store is another dataset.
  test_store elsewhere(kind);
  CHECK(elsewhere.open()->dataset_id() != id);
}

TEST_CASE("what a store committed survives a restart: state, version, audit and indexes",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  s->seed(test_catalog(), {plain_user("bob")});
  const std::string dataset = s->dataset_id();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state alice = full_user("alice");
  std::vector<audit_entry> appended = {audit_line("alice", now, "allowed", "r1", "s1")};
  const stream s1 = stream_of("alice", "s1", now + 90'000);
  alice.streams = {s1};
  alice.starts = {start_for("r1", s1)};
  alice.seq = 1;
  REQUIRE(commit_one(*s, commit_of(alice, appended, s1.expires_at_ms, {"r1"})) ==
          commit_status::committed);
  // Then a lease already lapsed, which the index must still name after the restart (its next
  // expiry is its earliest stream's, as the decision core computes it).
  alice.version = 1;
  alice.seq = 2;
  const stream s2 = stream_of("alice", "s2", now - 2'000);
  alice.streams.push_back(s2);
  alice.starts.push_back(start_for("r2", s2));
  const audit_entry second = audit_line("alice", now + 1, "allowed", "r2", "s2");
  REQUIRE(commit_one(*s, commit_of(alice, {second}, s2.expires_at_ms, {"r2"})) ==
          commit_status::committed);
  appended.push_back(second);
  const core::user_state committed = at_version(alice, 2);

  ts.restart_servers();
  if (ts.sqlite()) {
    s.reset();
    s = ts.open();
  }

  // The worker's own store object carries on (on Redis it reconnects), and a new one finds the
  // same.
  const core::user_state after = after_reconnect([&] { return load_one(*s, "alice"); });
  CHECK(after == committed);
  auto fresh = ts.sqlite() ? nullptr : ts.open();
  for (store* view : {s.get(), fresh.get()}) {
    if (view == nullptr) continue;
    CHECK(load_one(*view, "alice") == committed);
    CHECK(shown(view->recent_audit("alice", 10)) == newest_first(appended, 10));
    CHECK(view->seeded());
    CHECK(view->dataset_id() == dataset);
    CHECK(view->user_ids() == std::vector<std::string>{"alice", "bob"});
    CHECK(view->request_owner("r1") == std::optional<std::string>("alice"));
    CHECK(view->request_owner("r2") == std::optional<std::string>("alice"));
    CHECK(named_due(*view, "alice", now));
  }

  // And it commits on from the version it kept (on Redis: with its script loaded again).
  core::user_state next = after;
  next.seq = 3;
  next.streams.pop_back();
  const audit_entry third = audit_line("alice", now + 2, "expired", "", "s2");
  CHECK(commit_one(*s, commit_of(next, {third}, s1.expires_at_ms)) == commit_status::committed);
  CHECK(load_one(*s, "alice") == at_version(next, 3));
  appended.push_back(third);
  CHECK(shown(s->recent_audit("alice", 10)) == newest_first(appended, 10));
}

}  // namespace streamgate::conformance
