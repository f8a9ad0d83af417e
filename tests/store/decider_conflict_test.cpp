// Two workers sharing a Redis store decide for one user at once (a route change, a worker that
// comes back): the version check lets exactly one of them commit, and the other decides again on
// what was committed. And what is answered without a commit comes from the store, not a copy:
// a read, a create refused, a stop or heartbeat of an unknown stream, a stop-all of none.

#include <catch2/catch.hpp>
#include <string>
#include <variant>

#include "decider_support.hpp"

namespace streamgate {

TEST_CASE("two workers deciding for one user at once: only one commits, the other decides again",
          "[store][decider][conflict]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  two_workers w(kind);
  // dave's limit is one stream. Both workers cache his state with no stream...
  CHECK(decide(w.a, {get_user_request{"dave"}}).replies[0].status == outcome::ok);
  CHECK(decide(w.b, {get_user_request{"dave"}}).replies[0].status == outcome::ok);
  // ...then worker A grants the only slot, so B's cached state is stale.
  CHECK(decide(w.a, {start_of("dave", "ra")}).replies[0].status == outcome::allowed);

  const batch_result on_b = decide(w.b, {start_of("dave", "rb")});
  // B decided "allowed" on its stale copy, the store refused that commit, and B decided again on
  // what A committed: denied, and only that decision was told.
  CHECK(w.b.counters().conflicts == 1);
  CHECK(on_b.replies[0].status == outcome::denied);
  REQUIRE(on_b.events.size() == 1);
  REQUIRE(std::holds_alternative<verdict>(on_b.events[0].body));
  CHECK_FALSE(std::get<verdict>(on_b.events[0].body).allowed);
  CHECK(on_b.events[0].sequence == w.store_b->dataset_id() + " 2");

  CHECK(live_streams(w.a, "dave").size() == 1);  // exactly one stream
}

TEST_CASE("a user deleted by one worker is created again by another that still holds it",
          "[store][decider][conflict]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  two_workers w(kind);
  create_user_request olga;
  olga.id = "olga";
  olga.name = "Olga";
  // Worker B made olga and holds her state; worker A (her requests' worker after a route change)
  // deletes her, so B's copy is stale.
  REQUIRE(decide(w.b, {olga}).replies[0].status == outcome::created);
  REQUIRE(decide(w.a, {delete_user_request{"olga"}}).replies[0].status == outcome::no_content);
  // Whether a user exists is the store's answer, not B's copy: she is made again, not refused as
  // one that already exists.
  CHECK(decide(w.b, {olga}).replies[0].status == outcome::created);
  CHECK(decide(w.a, {get_user_request{"olga"}}).replies[0].status == outcome::ok);
}

TEST_CASE("a worker with an older copy of a user renews and stops what another worker started",
          "[store][decider][conflict]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  two_workers w(kind);
  const auto start_on = [](decider& d, const std::string& request_id) {
    const batch_result started = decide(d, {start_of("dave", request_id)});
    REQUIRE(started.replies[0].status == outcome::allowed);
    return std::get<verdict>(started.replies[0].body).granted->stream_id;
  };
  // Both workers cache dave (limit one) with no stream; then each stream below is started on A,
  // so B's copy lacks it. An answer that commits nothing is checked by no version: B must take
  // it from the store, not from its copy, or it tells a stream's owner that a live stream is
  // unknown, or "stopped" all while one goes on.
  REQUIRE(decide(w.a, {get_user_request{"dave"}}).replies[0].status == outcome::ok);
  REQUIRE(decide(w.b, {get_user_request{"dave"}}).replies[0].status == outcome::ok);

  const std::string first = start_on(w.a, "r1");
  CHECK(decide(w.b, {heartbeat_request{"dave", first}}).replies[0].status == outcome::ok);
  REQUIRE(decide(w.a, {stop_request{"dave", first}}).replies[0].status == outcome::no_content);

  const std::string second = start_on(w.a, "r2");
  CHECK(decide(w.b, {stop_request{"dave", second}}).replies[0].status == outcome::no_content);
  CHECK(live_streams(w.a, "dave").empty());

  start_on(w.a, "r3");
  CHECK(decide(w.b, {stop_all_request{"dave"}}).replies[0].status == outcome::no_content);
  CHECK(live_streams(w.a, "dave").empty());
  // Checked, not conflicted: B's copy was read again, no commit of its was refused.
  CHECK(w.b.counters().conflicts == 0);
}

TEST_CASE("a stop-all whose api gave up on it while its commit conflicted ends nothing",
          "[store][decider][conflict]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  // B's wall clock reads 1,000 ms at its first round and 3,000 ms after: the stop-all's api gives
  // up at 2,000 ms, while B decides it again after a conflict. Its caller heard 503 then and may
  // have started new streams elsewhere, which a late stop-all must not end.
  int clock_reads = 0;
  two_workers w(kind, [&clock_reads] { return ++clock_reads == 1 ? 1'000 : 3'000; });
  const batch_result first = decide(w.a, {start_of("dave", "r1")});  // dave: one stream at most
  REQUIRE(first.replies[0].status == outcome::allowed);
  REQUIRE(decide(w.b, {get_user_request{"dave"}}).replies[0].status == outcome::ok);
  // A stops that stream and starts another, so B's copy holds the one that ended.
  REQUIRE(decide(w.a, {stop_all_request{"dave"}}).replies[0].status == outcome::no_content);
  REQUIRE(decide(w.a, {start_of("dave", "r2")}).replies[0].status == outcome::allowed);

  const batch_result late = decide(w.b, {stop_all_request{"dave"}}, {}, {2'000});
  CHECK(w.b.counters().conflicts == 1);
  CHECK(clock_reads == 2);
  CHECK(late.replies[0].status == outcome::unavailable);
  CHECK(late.events.empty());
  CHECK(live_streams(w.a, "dave").size() == 1);
}

TEST_CASE("a worker alone meets no version conflict: each commit moves its copy's version along",
          "[store][decider][conflict]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  seeded_worker w(kind, test_rules());
  for (const std::string session : {"tv", "phone", "tablet"})
    REQUIRE(decide(w.d, {start_of("alice", "r-" + session, session)}).replies[0].status ==
            outcome::allowed);
  CHECK(w.d.counters().conflicts == 0);
  CHECK(live_streams(w.d, "alice").size() == 3);
}

}  // namespace streamgate
