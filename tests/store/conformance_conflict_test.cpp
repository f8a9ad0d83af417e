// The store conformance suite (conformance.hpp): every case runs against SQLite, a redis-server and
// a three-master Redis Cluster, so the worker can rely on the same contract whichever store it is
// given. Only the interface is used; what a store does inside (its keys, its tables) is its own
// tests'.
// Here: the version check of compare-and-commit: stale commits, two workers at once, and
// batches mixing conflicting and fresh users.

#include <algorithm>
#include <array>
#include <barrier>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "conformance.hpp"
#include "test_store.hpp"
#include "worker/store/store.hpp"

namespace streamgate::conformance {

TEST_CASE("a commit from a stale version is refused and changes nothing", "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state v1 = full_user("gina");
  const std::vector<audit_entry> first_audit = {audit_line("gina", now, "allowed", "r1", "s1")};
  REQUIRE(commit_one(*s, commit_of(v1, first_audit)) == commit_status::committed);
  core::user_state v2 = load_one(*s, "gina");
  REQUIRE(v2.version == 1);
  v2.seq = 1;
  v2.u.name = "Gina at version 2";
  const std::vector<audit_entry> second_audit = {audit_line("gina", now + 1, "stopped", "", "s1")};
  REQUIRE(commit_one(*s, commit_of(v2, second_audit)) == commit_status::committed);
  const core::user_state stored = load_one(*s, "gina");
  REQUIRE(stored == at_version(v2, 2));

  // From the version before (a worker that decided on what it loaded earlier), from a version the
  // store never had, and from nothing: each is refused, and nothing of it is written, not even
  // the lease index entry.
  for (const std::uint64_t stale_version : {std::uint64_t{1}, std::uint64_t{3}, std::uint64_t{0}}) {
    CAPTURE(stale_version);
    core::user_state stale = at_version(v2, stale_version);
    stale.u.name = "Gina, decided on a stale state";
    stale.seq = 99;
    stale.streams = {stream_of("gina", "s9", now - 1'000)};
    CHECK(commit_one(*s, commit_of(stale, {audit_line("gina", now + 2, "allowed", "r9", "s9")},
                                   now - 1'000)) == commit_status::conflict);
    CHECK(load_one(*s, "gina") == stored);
    CHECK(shown(s->recent_audit("gina", 10)) ==
          newest_first({first_audit[0], second_audit[0]}, 10));
    CHECK_FALSE(named_due(*s, "gina", now));
  }

  // In one batch with users whose commits are current (on one Redis server, one script call for
  // all of them): only the stale one is refused, in its place in the answer.
  core::user_state stale = at_version(v2, 1);
  stale.u.name = "Gina, stale again";
  core::user_state ivy = plain_user("ivy");
  core::user_state gina = stored;
  gina.u.name = "Gina at version 3";
  const std::vector<commit_status> mixed =
      s->commit({commit_of(ivy), commit_of(stale), commit_of(gina)});
  CHECK(mixed == std::vector<commit_status>{commit_status::committed, commit_status::conflict,
                                            commit_status::committed});
  CHECK(load_one(*s, "gina") == at_version(gina, 3));
  CHECK(load_one(*s, "ivy") == at_version(ivy, 1));
}

TEST_CASE("two workers committing one user from the same loaded version: exactly one commits",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto a = ts.open();

  if (ts.sqlite()) {
    // SQLite allows no second worker: its file has one owner, so the second open is refused
    // while the first store lives, and succeeds once it is closed.
    CHECK_THROWS_AS(ts.open(), store_in_use);
    a.reset();
    CHECK_NOTHROW(ts.open());
    return;
  }

  auto b = ts.open();
  REQUIRE(commit_one(*a, commit_of(plain_user("dave"))) == commit_status::committed);

  SECTION("one after the other: the second is refused and finds the first's state") {
    core::user_state on_a = load_one(*a, "dave");
    core::user_state on_b = load_one(*b, "dave");
    REQUIRE(on_a.version == on_b.version);
    on_a.u.name = "decided by A";
    on_b.u.name = "decided by B";
    CHECK(commit_one(*a, commit_of(on_a, {audit_line("dave", 1, "allowed", "ra")})) ==
          commit_status::committed);
    CHECK(commit_one(*b, commit_of(on_b, {audit_line("dave", 2, "allowed", "rb")})) ==
          commit_status::conflict);
    CHECK(load_one(*b, "dave") == at_version(on_a, 2));
    CHECK(shown(b->recent_audit("dave", 10)) ==
          newest_first({audit_line("dave", 1, "allowed", "ra")}, 10));
  }

  SECTION("at the same time, round after round: one of the two commits each round") {
    constexpr int rounds = 25;
    std::barrier in_step(2);
    std::array<std::vector<commit_status>, 2> answers;
    std::array<std::exception_ptr, 2> failures;
    const auto worker = [&](store& mine, std::size_t who) {
      try {
        for (int round = 0; round < rounds; ++round) {
          auto loaded = mine.load({"dave"});
          // Both have loaded the same version before either commits.
          in_step.arrive_and_wait();
          core::user_state next = *loaded.states.at(0);
          next.u.name = "round " + std::to_string(round) + " by " + std::to_string(who);
          ++next.seq;
          answers[who].push_back(
              mine.commit({commit_of(next, {audit_line("dave", round, "allowed", next.u.name)})})
                  .at(0));
          // Both have committed before either loads for the next round.
          in_step.arrive_and_wait();
        }
      } catch (...) {
        failures[who] = std::current_exception();
        in_step.arrive_and_drop();
      }
    };
    std::thread first(worker, std::ref(*a), 0);
    std::thread second(worker, std::ref(*b), 1);
    first.join();
    second.join();
    for (const std::exception_ptr& failure : failures)
      if (failure) std::rethrow_exception(failure);
    REQUIRE(answers[0].size() == rounds);
    REQUIRE(answers[1].size() == rounds);
    std::vector<std::string> winners;
    for (int round = 0; round < rounds; ++round) {
      CAPTURE(round);
      const auto r = static_cast<std::size_t>(round);
      CHECK((answers[0][r] == commit_status::committed) !=
            (answers[1][r] == commit_status::committed));
      winners.push_back("round " + std::to_string(round) + " by " +
                        (answers[0][r] == commit_status::committed ? "0" : "1"));
    }
    const core::user_state last = load_one(*a, "dave");
    CHECK(last.version == 1 + rounds);
    CHECK(last.seq == rounds);
    CHECK(last.u.name == winners.back());
    // One audit line per round, the winner's.
    std::vector<std::string> audit_requests;
    for (const audit_entry& e : a->recent_audit("dave", 100))
      audit_requests.push_back(e.request_id);
    std::reverse(winners.begin(), winners.end());
    CHECK(audit_requests == winners);
  }
}

TEST_CASE("a batch of commits mixing conflicting and fresh users is answered per user in order",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();

  // Enough users to land on every master of a cluster.
  constexpr int existing = 12;
  std::vector<core::user_state> before;
  for (int i = 0; i < existing; ++i) before.push_back(plain_user("u" + std::to_string(i)));
  s->seed(test_catalog(), before);

  std::vector<user_commit> batch;
  std::vector<commit_status> expected;
  std::vector<core::user_state> after;  // what each user of the batch should hold afterwards
  for (int i = 0; i < existing; ++i) {
    const std::string id = "u" + std::to_string(i);
    core::user_state changed = at_version(before[static_cast<std::size_t>(i)], 1);
    changed.u.name = "changed " + id;
    changed.seq = static_cast<std::uint64_t>(i) + 1;
    switch (i % 3) {
      case 0:  // decided on a version the store moved past (or never had)
        changed.version = i % 2 == 0 ? 0 : 5;
        expected.push_back(commit_status::conflict);
        after.push_back(at_version(before[static_cast<std::size_t>(i)], 1));
        break;
      default:
        expected.push_back(commit_status::committed);
        after.push_back(at_version(changed, 2));
        break;
    }
    batch.push_back(commit_of(changed, {audit_line(id, i, "allowed", "r" + id)}));
    // A new user after each existing one.
    const core::user_state fresh = plain_user("n" + std::to_string(i));
    batch.push_back(commit_of(fresh, {audit_line(fresh.u.id, i, "allowed", "r" + fresh.u.id)}));
    expected.push_back(commit_status::committed);
    after.push_back(at_version(fresh, 1));
  }

  const std::vector<commit_status> answers = s->commit(batch);
  REQUIRE(answers.size() == batch.size());
  std::vector<std::string> ids;
  for (const user_commit& c : batch) ids.push_back(c.state.u.id);
  const loaded_users loaded = s->load(ids);
  REQUIRE(loaded.states.size() == ids.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    CAPTURE(i, ids[i]);
    CHECK(answers[i] == expected[i]);
    REQUIRE(loaded.states[i].has_value());
    CHECK(*loaded.states[i] == after[i]);
    // The audit line of a refused commit is not written; a committed one's is.
    CHECK(s->recent_audit(ids[i], 10).size() == (expected[i] == commit_status::committed ? 1 : 0));
  }
  CHECK(s->commit({}).empty());
}

}  // namespace streamgate::conformance
