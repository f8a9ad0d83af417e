// The decision core on a user's streams after a start (worker/core/decisions.hpp): expiry,
// heartbeat, stop, stop-all, and how decisions number their events and gather their effects.

#include "core_test_support.hpp"

namespace streamgate::core {

using namespace test_support;

// ---- expiry ----

TEST_CASE("a lease lapses at exactly its expiry", "[core][expiry]") {
  auto [offset, lapsed] = GENERATE(table<std::int64_t, bool>({
      {-1, false},
      {0, true},
      {1, true},
  }));
  CAPTURE(offset);
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 1, r);
  const std::int64_t now = t0 + lease + offset;

  effects out;
  expire(state, now, r, out);
  CHECK(out.changed == lapsed);
  CHECK(out.expired == (lapsed ? 1 : 0));
  if (lapsed) {
    CHECK(state.streams.empty());
    CHECK(describe_all(out.events) == std::vector<std::string>{"2 ended s1 expired"});
    CHECK(describe_all(out.audit) == std::vector<std::string>{"expired stream=s1 video=v1"});
    check_stamps(out, "alice", now);
  } else {
    CHECK(ids_of(state.streams) == std::vector<std::string>{"s1"});
    CHECK(out.events.empty());
    CHECK(out.audit.empty());
  }
}

TEST_CASE("every decision ends lapsed streams first, so they neither count nor take a heartbeat",
          "[core][expiry]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 2, r);  // s1 lapses at t0 + lease, s2 a second later
  effects ignored;
  REQUIRE(start(state, start_of("r3", "", "v3"), true, "s3", t0 + 50'000, r, ignored).v.allowed);
  const std::int64_t now = t0 + lease + 1000;
  const std::vector<std::string> expired{"4 ended s1 expired", "5 ended s2 expired"};
  const std::vector<std::string> expired_audit{"expired stream=s1 video=v1",
                                               "expired stream=s2 video=v1"};
  effects out;

  SECTION("start: at the limit of 3 before expiry, below it after") {
    const verdict v = start(state, start_of("r4"), true, "s4", now, r, out).v;
    CHECK(v.allowed);
    CHECK(v.active == 2);
    CHECK(describe_all(out.events) ==
          std::vector<std::string>{expired[0], expired[1], "6 verdict r4 allowed s4"});
    CHECK(describe_all(out.audit) ==
          std::vector<std::string>{expired_audit[0], expired_audit[1],
                                   "allowed stream=s4 request=r4 video=v1"});
    check_stamps(out, "alice", now);
    check_counters(out, {.allowed = 1, .expired = 2});
  }
  SECTION("heartbeat") {
    CHECK(heartbeat(state, "s3", now, r, out).value() == now + lease);
    CHECK(describe_all(out.events) == expired);
    CHECK(describe_all(out.audit) == expired_audit);
    check_counters(out, {.expired = 2});
  }
  SECTION("stop") {
    CHECK(stop(state, "s3", now, r, out).has_value());
    CHECK(describe_all(out.events) ==
          std::vector<std::string>{expired[0], expired[1], "6 ended s3 stopped"});
    check_counters(out, {.expired = 2});
  }
  SECTION("stop_all counts only the live streams") {
    CHECK(stop_all(state, now, r, out) == 1);
    CHECK(describe_all(out.events) ==
          std::vector<std::string>{expired[0], expired[1], "6 ended s3 stop_all"});
    check_counters(out, {.expired = 2});
  }
  SECTION("expire") {
    expire(state, now, r, out);
    CHECK(describe_all(out.events) == expired);
    CHECK(describe_all(out.audit) == expired_audit);
    CHECK(ids_of(state.streams) == std::vector<std::string>{"s3"});
    check_counters(out, {.expired = 2});
  }
  CHECK(out.changed);
}

TEST_CASE("next_expiry is the earliest lease among the live streams", "[core][expiry]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  CHECK(next_expiry(state) == std::nullopt);
  fill(state, 2, r);
  CHECK(next_expiry(state) == t0 + lease);

  effects out;
  REQUIRE(heartbeat(state, "s1", t0 + 5000, r, out).has_value());
  CHECK(next_expiry(state) == t0 + 1000 + lease);
  REQUIRE(stop(state, "s2", t0 + 6000, r, out).has_value());
  CHECK(next_expiry(state) == t0 + 5000 + lease);
  REQUIRE(stop(state, "s1", t0 + 7000, r, out).has_value());
  CHECK(next_expiry(state) == std::nullopt);
}

// ---- heartbeat, stop, stop_all ----

TEST_CASE("a heartbeat renews a live stream's lease and publishes nothing", "[core][heartbeat]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 2, r);
  const std::int64_t now = t0 + 60'000;

  effects out;
  const result<std::int64_t> renewed = heartbeat(state, "s1", now, r, out);
  REQUIRE(renewed.has_value());
  CHECK(*renewed == now + lease);
  CHECK(state.streams[0].expires_at_ms == now + lease);
  CHECK(state.streams[0].started_at_ms == t0);
  CHECK(state.streams[1].expires_at_ms == t0 + 1000 + lease);
  CHECK(ids_of(state.streams) == std::vector<std::string>{"s1", "s2"});  // still oldest first
  CHECK(out.changed);
  CHECK(out.events.empty());
  CHECK(out.audit.empty());
  check_counters(out, {});
  CHECK(state.seq == 2);

  // Past its first lease s1 lives on; s2, never renewed, does not.
  out.clear();
  expire(state, t0 + 1000 + lease, r, out);
  CHECK(ids_of(state.streams) == std::vector<std::string>{"s1"});
  CHECK(describe_all(out.events) == std::vector<std::string>{"3 ended s2 expired"});
}

TEST_CASE("a heartbeat is not_found unless the user has that stream live", "[core][heartbeat]") {
  using strings = std::vector<std::string>;
  auto [stream_id, at, changed, events] = GENERATE(table<std::string, std::int64_t, bool, strings>({
      {"nope", t0 + 1000, false, {}},
      {"", t0 + 1000, false, {}},
      {"b1", t0 + 1000, false, {}},  // bob's stream: never seen from alice's state
      {"s1", t0 + lease, true, {"2 ended s1 expired"}},
  }));
  CAPTURE(stream_id, at);
  const rules r = test_rules();
  user_state alice = state_of("alice");
  fill(alice, 1, r);
  user_state bob = state_of("bob");
  effects ignored;
  start(bob, start_of("r1", "", "v1", "bob"), true, "b1", t0, r, ignored);
  const user_state bob_before = bob;

  effects out;
  const result<std::int64_t> renewed = heartbeat(alice, stream_id, at, r, out);
  REQUIRE(renewed.has_error());
  CHECK(renewed.error().code == error_code::not_found);
  CHECK(renewed.error().message == "unknown stream '" + stream_id + "'");
  CHECK(out.changed == changed);
  CHECK(describe_all(out.events) == events);
  CHECK(bob == bob_before);
}

TEST_CASE("stop ends one stream with reason stopped, and only a live stream of the user",
          "[core][stop]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  effects ignored;
  for (int i = 1; i <= 3; ++i)
    start(state, start_of("r" + n(i), "", "v" + n(i)), true, "s" + n(i), t0 + i, r, ignored);
  const std::int64_t now = t0 + 5000;

  effects out;
  REQUIRE(stop(state, "s2", now, r, out).has_value());
  CHECK(ids_of(state.streams) == std::vector<std::string>{"s1", "s3"});
  CHECK(describe_all(out.events) == std::vector<std::string>{"4 ended s2 stopped"});
  CHECK(describe_all(out.audit) == std::vector<std::string>{"stopped stream=s2 video=v2"});
  check_stamps(out, "alice", now);
  check_counters(out, {});
  CHECK(out.changed);

  const std::string id = GENERATE(as<std::string>{}, "s2", "b1", "");
  CAPTURE(id);
  effects again;
  const result<void> refused = stop(state, id, now + 1, r, again);
  REQUIRE(refused.has_error());
  CHECK(refused.error().code == error_code::not_found);
  CHECK(refused.error().message == "unknown stream '" + id + "'");
  CHECK_FALSE(again.changed);
  CHECK(again.events.empty());
  CHECK(ids_of(state.streams) == std::vector<std::string>{"s1", "s3"});
}

TEST_CASE("stop_all ends every live stream with reason stop_all and returns how many",
          "[core][stop]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  effects out;

  SECTION("three streams") {
    fill(state, 3, r);
    const std::int64_t now = t0 + 5000;
    CHECK(stop_all(state, now, r, out) == 3);
    CHECK(state.streams.empty());
    CHECK(describe_all(out.events) == std::vector<std::string>{"4 ended s1 stop_all",
                                                               "5 ended s2 stop_all",
                                                               "6 ended s3 stop_all"});
    CHECK(describe_all(out.audit) == std::vector<std::string>{"stop_all stream=s1 video=v1",
                                                              "stop_all stream=s2 video=v1",
                                                              "stop_all stream=s3 video=v1"});
    check_stamps(out, "alice", now);
    check_counters(out, {});
    CHECK(out.changed);
  }
  SECTION("no stream: 0, and nothing changed") {
    CHECK(stop_all(state, t0, r, out) == 0);
    CHECK_FALSE(out.changed);
    CHECK(out.events.empty());
    CHECK(out.audit.empty());
  }
  SECTION("only lapsed streams: 0, but their expiry is a change") {
    fill(state, 1, r);
    CHECK(stop_all(state, t0 + lease, r, out) == 0);
    CHECK(out.changed);
    CHECK(describe_all(out.events) == std::vector<std::string>{"2 ended s1 expired"});
  }
}

// ---- seq, changed, effects ----

TEST_CASE("seq numbers every event of the user in decision order, from the loaded seq",
          "[core][seq]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  state.seq = 41;  // as loaded from the store
  effects out;

  REQUIRE(start(state, start_of("r1"), true, "s1", t0, r, out).v.allowed);
  REQUIRE(start(state, start_of("r2"), true, "s2", t0 + 1000, r, out).v.allowed);
  REQUIRE(start(state, start_of("r1"), true, "s9", t0 + 2000, r, out).replayed);
  REQUIRE(heartbeat(state, "s2", t0 + 3000, r, out).has_value());
  REQUIRE(stop(state, "s2", t0 + 4000, r, out).has_value());
  REQUIRE_FALSE(start(state, start_of("r3", "", "x"), false, "s3", t0 + 5000, r, out).v.allowed);
  expire(state, t0 + lease, r, out);
  CHECK(stop_all(state, t0 + lease + 1, r, out) == 0);

  CHECK(describe_all(out.events) == std::vector<std::string>{
                                        "42 verdict r1 allowed s1",
                                        "43 verdict r2 allowed s2",
                                        "44 verdict r1 allowed s1",
                                        "45 ended s2 stopped",
                                        "46 verdict r3 denied unknown_video",
                                        "47 ended s1 expired",
                                    });
  CHECK(state.seq == 47);
  CHECK(describe_all(out.audit) == std::vector<std::string>{
                                       "allowed stream=s1 request=r1 video=v1",
                                       "allowed stream=s2 request=r2 video=v1",
                                       "stopped stream=s2 video=v1",
                                       "denied request=r3 video=x reason=unknown_video",
                                       "expired stream=s1 video=v1",
                                   });
  check_counters(out, {.allowed = 2, .denied = 1, .expired = 1, .replayed = 1});
}

TEST_CASE("a decision that changes nothing leaves changed false and publishes nothing",
          "[core][changed]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 1, r);
  const user_state before = state;
  const std::int64_t now = t0 + 1000;  // nothing lapsed, nothing forgotten
  effects out;

  SECTION("expire") { expire(state, now, r, out); }
  SECTION("heartbeat of an unknown stream") {
    CHECK(heartbeat(state, "nope", now, r, out).has_error());
  }
  SECTION("stop of an unknown stream") { CHECK(stop(state, "nope", now, r, out).has_error()); }
  CHECK_FALSE(out.changed);
  CHECK(out.events.empty());
  CHECK(out.audit.empty());
  CHECK(out.started.empty());
  CHECK(out.renewed.empty());
  check_counters(out, {});
  CHECK(state == before);
}

TEST_CASE("effects name the streams decisions made, renewed and ended, in decision order",
          "[core][changed]") {
  // What a store writes of the streams (worker/store/stream_changes.hpp): a miss here would lose
  // a stream or a lease there.
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 2, r, t0, {"a", "b"});
  effects out;
  const std::int64_t now = t0 + 2000;

  SECTION("a start, a reused session, a heartbeat and a stop; a replay and a denial change none") {
    REQUIRE(start(state, start_of("r3", "c"), true, "s3", now, r, out).v.allowed);
    REQUIRE(start(state, start_of("r4", "a"), true, "s4", now, r, out).v.granted->stream_id ==
            "s1");
    REQUIRE(start(state, start_of("r1", "a"), true, "s5", now, r, out).replayed);
    REQUIRE_FALSE(start(state, start_of("r6", "d"), true, "s6", now, r, out).v.allowed);
    REQUIRE_FALSE(heartbeat(state, "s2", now, r, out).has_error());
    REQUIRE_FALSE(stop(state, "s3", now, r, out).has_error());
    CHECK(out.started == std::vector<std::string>{"s3"});
    CHECK(out.renewed == std::vector<std::string>{"s1", "s2"});
    CHECK(ended_ids(out) == std::vector<std::string>{"s3"});
  }
  SECTION("a lapsed lease, an eviction, a stop_all") {
    state.u.max_streams = 1;
    state.u.policy_override = policy::evict_oldest;
    REQUIRE(start(state, start_of("r3"), true, "s3", t0 + lease, r, out).v.allowed);
    CHECK(out.started == std::vector<std::string>{"s3"});
    CHECK(ended_ids(out) == std::vector<std::string>{"s1", "s2"});  // s1 lapsed, s2 evicted
    stop_all(state, t0 + lease, r, out);
    CHECK(ended_ids(out) == std::vector<std::string>{"s1", "s2", "s3"});
    CHECK(out.renewed.empty());
  }
}

TEST_CASE("effects accumulate across decisions until cleared", "[core][changed]") {
  const rules r = test_rules();
  user_state state = state_of("alice", 1);
  effects out;
  start(state, start_of("r1"), true, "s1", t0, r, out);
  start(state, start_of("r2"), true, "s2", t0 + 1, r, out);
  CHECK(out.events.size() == 2);
  CHECK(out.audit.size() == 2);
  check_counters(out, {.allowed = 1, .denied = 1});

  out.clear();
  CHECK(out.events.empty());
  CHECK(out.audit.empty());
  CHECK_FALSE(out.changed);
  check_counters(out, {});
}

}  // namespace streamgate::core
