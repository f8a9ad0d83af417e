// The store conformance suite (conformance.hpp): every case runs against SQLite, a redis-server and
// a three-master Redis Cluster, so the worker can rely on the same contract whichever store it is
// given. Only the interface is used; what a store does inside (its keys, its tables) is its own
// tests'.
// Here: the lease (expiry) index, the request index and the worker lives.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "conformance.hpp"
#include "test_store.hpp"
#include "wait.hpp"
#include "worker/store/store.hpp"

namespace streamgate::conformance {

TEST_CASE("the lease index names a user whose lease is due, not one whose lease is ahead or gone",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state lapsed = plain_user("lapsed");
  lapsed.streams = {stream_of("lapsed", "s1", now - 1'000)};
  core::user_state ahead = plain_user("ahead");
  ahead.streams = {stream_of("ahead", "s2", now + 3'600'000)};
  core::user_state ended = plain_user("ended");
  ended.streams = {stream_of("ended", "s3", now - 500)};
  core::user_state idle = plain_user("idle");
  const std::vector<commit_status> answers =
      s->commit({commit_of(lapsed, {}, now - 1'000), commit_of(ahead, {}, now + 3'600'000),
                 commit_of(ended, {}, now - 500), commit_of(idle)});
  REQUIRE(answers == std::vector<commit_status>(4, commit_status::committed));

  CHECK(named_due(*s, "lapsed", now));
  CHECK(named_due(*s, "ended", now));
  CHECK_FALSE(named_due(*s, "ahead", now));
  CHECK_FALSE(named_due(*s, "idle", now));
  // Due by a time past its expiry, the one ahead is named too.
  CHECK(named_due(*s, "ahead", now + 3'600'001));
  for (std::size_t call = 0; call < due_calls(); ++call) CHECK(s->due_users(now, 1).size() <= 1);
  CHECK(s->due_users(now, 0).empty());

  // Its stream ended: the commit has no next expiry, and the index forgets the user.
  ended.version = 1;
  ended.streams.clear();
  REQUIRE(commit_one(*s, commit_of(ended, {audit_line("ended", now, "expired", "", "s3")})) ==
          commit_status::committed);
  CHECK_FALSE(named_due(*s, "ended", now + 3'600'001));
  // A renewed lease moves the user ahead.
  lapsed.version = 1;
  lapsed.streams[0].expires_at_ms = now + 3'600'000;
  REQUIRE(commit_one(*s, commit_of(lapsed, {}, now + 3'600'000)) == commit_status::committed);
  CHECK_FALSE(named_due(*s, "lapsed", now));
  CHECK(named_due(*s, "lapsed", now + 3'600'001));
  // A later stream leaves the earliest expiry as loaded: the entry stays as the last commit wrote
  // it, whether or not the store writes it again.
  lapsed.version = 2;
  lapsed.streams.push_back(stream_of("lapsed", "s4", now + 7'200'000));
  user_commit same = commit_of(lapsed, {}, now + 3'600'000);
  same.same_expiry_as_loaded = true;
  REQUIRE(commit_one(*s, same) == commit_status::committed);
  CHECK_FALSE(named_due(*s, "lapsed", now));
  CHECK(named_due(*s, "lapsed", now + 3'600'001));
}

TEST_CASE("a request id decided in a commit names its user and an unknown one names nobody",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  // As the decision core commits them: the new request ids are remembered in the state too.
  core::user_state alice = plain_user("alice");
  const stream granted = stream_of("alice", "sa", now + 90'000);
  alice.streams = {granted};
  alice.starts = {start_for("ra-1", granted)};
  core::user_state bob = plain_user("bob");
  bob.starts = {denied_start("rb-1", now)};
  REQUIRE(s->commit({commit_of(alice, {}, granted.expires_at_ms, {"ra-1"}),
                     commit_of(bob, {}, std::nullopt, {"rb-1"})}) ==
          std::vector<commit_status>(2, commit_status::committed));

  CHECK(s->request_owner("ra-1") == std::optional<std::string>("alice"));
  CHECK(s->request_owner("rb-1") == std::optional<std::string>("bob"));
  CHECK(s->request_owner("r-unknown") == std::nullopt);

  alice.version = 1;
  alice.starts.push_back(denied_start("ra-2", now + 1));
  REQUIRE(commit_one(*s, commit_of(alice, {}, granted.expires_at_ms, {"ra-2"})) ==
          commit_status::committed);
  CHECK(s->request_owner("ra-2") == std::optional<std::string>("alice"));
  CHECK(s->request_owner("ra-1") == std::optional<std::string>("alice"));
}

namespace {

bool names(const std::vector<std::string>& lives, const std::string& life) {
  return std::find(lives.begin(), lives.end(), life) != lives.end();
}

}  // namespace

TEST_CASE("the worker lives name each worker marked alive until its mark lapses or it ends",
          "[store][conformance]") {
  using namespace std::chrono_literals;
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto first = ts.open();
  CHECK(first->live_workers("l_first", 60'000) == std::vector<std::string>{"l_first"});
  first->end_life("l_first");
  // An exclusive store's only writer is the only life it can name; no other worker may open it.
  if (first->exclusive()) return;

  auto second = ts.open();
  const auto both = second->live_workers("l_second", 60'000);
  CHECK(!names(both, "l_first"));
  CHECK(names(both, "l_second"));
  CHECK(names(first->live_workers("l_first", 60'000), "l_second"));
  CHECK(names(second->live_workers("l_second", 60'000), "l_first"));
  // A mark that is not renewed lapses on the store's clock; an ended life goes at once.
  CHECK(names(first->live_workers("l_brief", 300), "l_brief"));
  CHECK(it::wait_until([&] { return !names(second->live_workers("l_second", 60'000), "l_brief"); },
                       10s));
  second->end_life("l_second");
  CHECK(first->live_workers("l_first", 60'000) == std::vector<std::string>{"l_first"});
}

}  // namespace streamgate::conformance
