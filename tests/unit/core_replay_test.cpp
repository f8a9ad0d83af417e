// The decision core's replays and request memory (worker/core/decisions.hpp): a repeated
// requestId gets its original verdict, within its window.

#include "core_test_support.hpp"

namespace streamgate::core {

using namespace test_support;

// ---- replays and request memory ----

TEST_CASE("a start that leaves the user at one below the limit or more counts as near the limit",
          "[core][metrics]") {
  const rules r = test_rules();
  user_state state = state_of("alice", 3);
  std::vector<int> near;
  for (int i = 1; i <= 4; ++i) {
    effects out;
    start(state, start_of("r" + n(i), "tv" + n(i)), true, "s" + n(i), t0 + i, r, out);
    near.push_back(out.near_limit);
  }
  // 1 of 3, 2 of 3, 3 of 3, then refused at 3.
  CHECK(near == std::vector<int>{0, 1, 1, 1});
  effects replay;
  start(state, start_of("r4", "tv4"), true, "s9", t0 + 9, r, replay);
  CHECK(replay.near_limit == 0);  // decided once, counted once
}

TEST_CASE("a repeated request id replays the original verdict without deciding again",
          "[core][replay]") {
  const rules r = test_rules();

  SECTION("an allowed start names the same stream, whatever the retry asks") {
    user_state state = state_of("alice");
    effects first;
    const verdict original = start(state, start_of("r1", "tv"), true, "s1", t0, r, first).v;
    const std::vector<stream> streams_before = state.streams;
    const std::vector<remembered_start> starts_before = state.starts;

    effects out;
    const start_result replay =
        start(state, start_of("r1", "phone", "v2"), true, "s9", t0 + 10'000, r, out);
    CHECK(replay.replayed);
    check_same(replay.v, original);
    CHECK(state.streams == streams_before);
    CHECK(state.starts == starts_before);
    CHECK(describe_all(out.events) == std::vector<std::string>{"2 verdict r1 allowed s1"});
    check_same(published_verdict(out), original);
    CHECK(out.audit.empty());
    // The store keeps the start decided, once: a replay gives it nothing new to keep.
    REQUIRE(first.remembered.size() == 1);
    CHECK(first.remembered[0] == state.starts.back());
    CHECK(out.remembered.empty());
    check_counters(out, {.replayed = 1});
    CHECK(out.changed);  // the seq moved
    CHECK(state.seq == 2);
  }
  SECTION("an allowed start whose stream ended since still names that stream, over by now") {
    user_state state = state_of("alice");
    effects out;
    const verdict original = start(state, start_of("r1"), true, "s1", t0, r, out).v;
    REQUIRE(stop(state, "s1", t0 + 1000, r, out).has_value());
    const start_result replay = start(state, start_of("r1"), true, "s9", t0 + 2000, r, out);
    CHECK(replay.replayed);
    // Its lease ends by the replay at the latest: a client that applies the replay, published
    // after the stream's ended event, does not take the stream for running again.
    verdict expected = original;
    expected.granted->expires_at_ms = t0 + 2000;
    check_same(replay.v, expected);
    CHECK(state.streams.empty());
  }
  SECTION("a denied start shows the streams in use at replay time") {
    user_state state = state_of("alice", 1);
    fill(state, 1, r);
    effects out;
    const verdict denied = start(state, start_of("r2"), true, "s2", t0 + 1000, r, out).v;
    REQUIRE_FALSE(denied.allowed);
    REQUIRE(ids_of(denied.streams) == std::vector<std::string>{"s1"});
    REQUIRE(stop(state, "s1", t0 + 2000, r, out).has_value());
    REQUIRE(start(state, start_of("r3"), true, "s3", t0 + 3000, r, out).v.allowed);

    out.clear();
    const start_result replay = start(state, start_of("r2"), true, "s9", t0 + 4000, r, out);
    CHECK(replay.replayed);
    CHECK_FALSE(replay.v.allowed);
    CHECK(replay.v.reason == "limit_reached");
    CHECK(ids_of(replay.v.streams) == std::vector<std::string>{"s3"});
    CHECK(replay.v.active == 1);
    CHECK(replay.v.limit == 1);
    CHECK(replay.v.decided_at_ms == t0 + 1000);
    CHECK(ids_of(state.streams) == std::vector<std::string>{"s3"});
    CHECK(out.audit.empty());
    check_counters(out, {.replayed = 1});
  }
  SECTION("an unknown_video denial replays even once the video is known") {
    user_state state = state_of("alice");
    effects out;
    REQUIRE(start(state, start_of("r1", "", "v7"), false, "s1", t0, r, out).v.reason ==
            "unknown_video");
    const start_result replay = start(state, start_of("r1", "", "v7"), true, "s1", t0 + 1, r, out);
    CHECK(replay.replayed);
    CHECK(replay.v.reason == "unknown_video");
    CHECK(state.streams.empty());
  }
}

TEST_CASE("a request id is remembered until decided_at + request_memory_ms, then decided anew",
          "[core][replay]") {
  using strings = std::vector<std::string>;
  auto [offset, replayed, events] = GENERATE(table<std::int64_t, bool, strings>({
      {memory - 1, true, {"2 ended s1 expired", "3 verdict r1 allowed s1"}},
      {memory, false, {"2 ended s1 expired", "3 verdict r1 allowed s2"}},
      {memory + 1, false, {"2 ended s1 expired", "3 verdict r1 allowed s2"}},
  }));
  CAPTURE(offset);
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 1, r);

  effects out;
  const start_result decided = start(state, start_of("r1"), true, "s2", t0 + offset, r, out);
  CHECK(decided.replayed == replayed);
  CHECK(describe_all(out.events) == events);
  CHECK(out.replayed == (replayed ? 1 : 0));
  CHECK(out.allowed == (replayed ? 0 : 1));
  CHECK(out.audit.size() ==
        (replayed ? 1u : 2u));  // the expired stream's line, and a new verdict's
  REQUIRE(state.starts.size() == 1);
  CHECK(state.starts[0].decided_at_ms == (replayed ? t0 : t0 + offset));
}

TEST_CASE("an expiry pass forgets a start at the end of its window, and that alone is no change",
          "[core][replay][expiry]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  effects ignored;
  start(state, start_of("r1", "", "v7"), false, "s1", t0, r, ignored);

  effects out;
  expire(state, t0 + memory - 1, r, out);
  CHECK_FALSE(out.changed);
  CHECK(state.starts.size() == 1);

  // Nothing to commit: the store drops the start past the same window on its own.
  expire(state, t0 + memory, r, out);
  CHECK_FALSE(out.changed);
  CHECK(state.starts.empty());
  CHECK(find_start(state, "r1") == nullptr);
  CHECK(out.events.empty());
  CHECK(out.audit.empty());
  CHECK(state.seq == 1);
}

TEST_CASE("request ids are per user", "[core][replay]") {
  const rules r = test_rules();
  user_state alice = state_of("alice");
  user_state bob = state_of("bob");
  effects out;
  start(alice, start_of("r1"), true, "s1", t0, r, out);
  const start_result bobs = start(bob, start_of("r1", "", "v1", "bob"), true, "b1", t0 + 1, r, out);
  CHECK_FALSE(bobs.replayed);
  REQUIRE(bobs.v.granted.has_value());
  CHECK(*bobs.v.granted == stream{"b1", "bob", "v1", "", t0 + 1, t0 + 1 + lease});
  CHECK(bob.seq == 1);
  CHECK(alice.seq == 1);
  CHECK(out.allowed == 2);
}

TEST_CASE(
    "the latest max_remembered_starts are kept, an eighth more at most, the oldest forgotten "
    "first",
    "[core][replay]") {
  rules r = test_rules();
  user_state state = state_of("alice");

  SECTION("a cap of 3 keeps the last three") {
    r.max_remembered_starts = 3;
    effects out;
    for (int i = 1; i <= 5; ++i)
      start(state, start_of("r" + n(i), "", "x"), false, "", t0 + i, r, out);
    CHECK(request_ids_of(state.starts) == std::vector<std::string>{"r3", "r4", "r5"});
    CHECK(find_start(state, "r2") == nullptr);
    REQUIRE(find_start(state, "r3") != nullptr);
    CHECK(find_start(state, "r3")->decided_at_ms == t0 + 3);

    out.clear();
    CHECK_FALSE(start(state, start_of("r1"), true, "s1", t0 + 10, r, out).replayed);
    CHECK(out.audit.size() == 1);
    CHECK(request_ids_of(state.starts) == std::vector<std::string>{"r4", "r5", "r1"});
    CHECK(start(state, start_of("r4"), true, "s2", t0 + 11, r, out).replayed);
  }
  SECTION("a cap of 16 holds up to 18, then trims back to the latest 16") {
    r.max_remembered_starts = 16;
    effects out;
    for (int i = 1; i <= 18; ++i)
      start(state, start_of("r" + n(i), "", "x"), false, "", t0 + i, r, out);
    CHECK(state.starts.size() == 18);
    CHECK(find_start(state, "r1") != nullptr);
    start(state, start_of("r19", "", "x"), false, "", t0 + 19, r, out);
    REQUIRE(state.starts.size() == 16);
    CHECK(state.starts.front().request_id == "r4");
    CHECK(state.starts.back().request_id == "r19");
    CHECK(find_start(state, "r3") == nullptr);
  }
  SECTION("a cap of 0 remembers nothing, so a retry is decided anew") {
    r.max_remembered_starts = 0;
    effects out;
    start(state, start_of("r1"), true, "s1", t0, r, out);
    CHECK(state.starts.empty());
    CHECK_FALSE(start(state, start_of("r1"), true, "s2", t0 + 1, r, out).replayed);
    CHECK(ids_of(state.streams) == std::vector<std::string>{"s1", "s2"});
  }
}

TEST_CASE("verdict_of rebuilds an allowed start's stream and a denied start's current streams",
          "[core][replay]") {
  user_state state = state_of("alice");
  state.streams = {{"x1", "alice", "v1", "", t0, t0 + lease},
                   {"x2", "alice", "v2", "tv", t0 + 5, t0 + 5 + lease}};

  SECTION("allowed, its stream running") {
    const remembered_start kept{"r0", "v2", "tv", t0 - 50, true, false, "x2", t0 + 40, "", 2, 3};
    // The stream as it runs: its start and its lease as heartbeats left it.
    CHECK(verdict_of(state, kept, t0 + 100).granted == state.streams[1]);
  }
  SECTION("allowed, its stream ended") {
    const remembered_start kept{"r1", "v3", "phone", t0 - 50, true, true, "x0", t0 + 40, "", 4, 2};
    // Over by now at the latest: ended before its lease ran out, it shows as over at once.
    CHECK(verdict_of(state, kept, t0 + 10).granted->expires_at_ms == t0 + 10);
    const verdict v = verdict_of(state, kept, t0 + 100);
    CHECK(v.request_id == "r1");
    CHECK(v.user_id == "alice");
    CHECK(v.video_id == "v3");
    CHECK(v.session_id == "phone");
    CHECK(v.allowed);
    CHECK(v.granted == stream{"x0", "alice", "v3", "phone", t0 - 50, t0 + 40});
    CHECK(v.streams.empty());
    CHECK(v.active == 4);
    CHECK(v.limit == 2);
    CHECK(v.reason.empty());
    CHECK(v.over_limit);
    CHECK(v.decided_at_ms == t0 - 50);
  }
  SECTION("denied") {
    const remembered_start kept{"r2", "v3", "", t0 - 50, false, false, "", 0, "limit_reached",
                                3,    3};
    const verdict v = verdict_of(state, kept, t0 + 100);
    CHECK_FALSE(v.allowed);
    CHECK_FALSE(v.granted.has_value());
    CHECK(v.streams == state.streams);
    CHECK(v.reason == "limit_reached");
    CHECK(v.active == 3);
    CHECK(v.limit == 3);
    CHECK_FALSE(v.over_limit);
    CHECK(v.decided_at_ms == t0 - 50);
  }
}

TEST_CASE("a new verdict is the one rebuilt from its remembered start", "[core][replay]") {
  const rules r = test_rules();
  auto [p, known, request_id] = GENERATE(table<policy, bool, std::string>({
      {policy::deny, true, "r-deny"},
      {policy::evict_oldest, true, "r-evict"},
      {policy::monitor, true, "r-monitor"},
      {policy::deny, false, "r-unknown"},
  }));
  CAPTURE(to_string(p), request_id);
  user_state state = state_of("alice", 2, p);
  fill(state, 2, r);
  effects out;
  const verdict v = start(state, start_of(request_id), known, "s9", t0 + 5000, r, out).v;
  const remembered_start* kept = find_start(state, request_id);
  REQUIRE(kept != nullptr);
  check_same(verdict_of(state, *kept, t0 + 5000), v);
}

TEST_CASE("a session renewal's rebuilt verdict names the same stream, as it stands",
          "[core][replay][session]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 1, r, t0, {"tv"});
  effects out;
  const verdict v = start(state, start_of("r2", "tv"), true, "s9", t0 + 5000, r, out).v;
  REQUIRE(v.granted.has_value());
  // The stream began before its renewal; while it runs, the replay says when, as the verdict did.
  std::int64_t started_at_ms = v.granted->started_at_ms;
  std::int64_t expires_at_ms = v.granted->expires_at_ms;
  REQUIRE(started_at_ms < t0 + 5000);
  SECTION("while its stream runs") {}
  SECTION("after its stream ended") {
    REQUIRE(stop(state, "s1", t0 + 6000, r, out).has_value());
    // Compact memory keeps no start time: with the stream gone, the decision time is what is left,
    // and a lease over by the time of asking.
    started_at_ms = t0 + 5000;
    expires_at_ms = t0 + 6000;
  }
  const remembered_start* kept = find_start(state, "r2");
  REQUIRE(kept != nullptr);
  const verdict rebuilt = verdict_of(state, *kept, t0 + 6000);
  REQUIRE(rebuilt.granted.has_value());
  CHECK(rebuilt.granted->stream_id == "s1");
  CHECK(rebuilt.granted->expires_at_ms == expires_at_ms);
  CHECK(rebuilt.granted->started_at_ms == started_at_ms);
}

TEST_CASE("find_start finds a remembered start by request id", "[core][replay]") {
  user_state state = state_of("alice");
  state.starts = {{"r1", "v1", "", t0, true, false, "s1", t0 + lease, "", 1, 3},
                  {"r2", "v1", "", t0 + 1, false, false, "", 0, "limit_reached", 3, 3}};
  REQUIRE(find_start(state, "r2") != nullptr);
  CHECK(find_start(state, "r2") == &state.starts[1]);
  CHECK(find_start(state, "r1") == &state.starts[0]);
  CHECK(find_start(state, "r3") == nullptr);
  CHECK(find_start(state, "") == nullptr);
}

}  // namespace streamgate::core
