// The decision core's starts (worker/core/decisions.hpp): the limit, policies, plans, unknown
// videos and sessions, with an injected time.

#include "core_test_support.hpp"

namespace streamgate::core {

using namespace test_support;

// ---- start: below the limit, policies, plans ----

TEST_CASE("starts below the limit are allowed, each with a new stream appended oldest first",
          "[core][start]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  state.version = 7;
  for (int i = 1; i <= 3; ++i) {
    CAPTURE(i);
    const std::int64_t now = t0 + i * 1000;
    effects out;
    const start_result decided =
        start(state, start_of("r" + n(i), "tv" + n(i), "v" + n(i)), true, "s" + n(i), now, r, out);
    const verdict& v = decided.v;
    CHECK_FALSE(decided.replayed);
    CHECK(v.allowed);
    CHECK(v.request_id == "r" + n(i));
    CHECK(v.user_id == "alice");
    CHECK(v.video_id == "v" + n(i));
    CHECK(v.session_id == "tv" + n(i));
    CHECK(v.active == i);
    CHECK(v.limit == 3);
    CHECK(v.reason.empty());
    CHECK_FALSE(v.over_limit);
    CHECK(v.streams.empty());
    CHECK(v.decided_at_ms == now);
    REQUIRE(v.granted.has_value());
    CHECK(*v.granted == stream{"s" + n(i), "alice", "v" + n(i), "tv" + n(i), now, now + lease});
    CHECK(state.streams.back() == *v.granted);

    CHECK(describe_all(out.events) ==
          std::vector<std::string>{n(i) + " verdict r" + n(i) + " allowed s" + n(i)});
    check_same(published_verdict(out), v);
    CHECK(describe_all(out.audit) ==
          std::vector<std::string>{"allowed stream=s" + n(i) + " request=r" + n(i) + " video=v" +
                                   n(i)});
    check_stamps(out, "alice", now);
    check_counters(out, {.allowed = 1});
    CHECK(out.changed);

    REQUIRE(state.starts.size() == static_cast<std::size_t>(i));
    CHECK(state.starts.back() == remembered_start{"r" + n(i), "v" + n(i), "tv" + n(i), now, true,
                                                  false, "s" + n(i), now + lease, "", i, 3});
  }
  CHECK(ids_of(state.streams) == std::vector<std::string>{"s1", "s2", "s3"});
  CHECK(state.seq == 3);
  CHECK(state.version == 7);  // the store's business, never the core's
}

TEST_CASE("a start at the limit is decided by the user's policy", "[core][start][policy]") {
  using strings = std::vector<std::string>;
  auto [p, allowed, reason, over_limit, evicted, streams_after, events, audit] =
      GENERATE(table<policy, bool, std::string, bool, int, strings, strings, strings>({
          {policy::deny,
           false,
           "limit_reached",
           false,
           0,
           {"s1", "s2", "s3"},
           {"4 verdict r4 denied limit_reached"},
           {"denied request=r4 video=v1 reason=limit_reached"}},
          {policy::evict_oldest,
           true,
           "",
           false,
           1,
           {"s2", "s3", "s4"},
           {"4 ended s1 evicted", "5 verdict r4 allowed s4"},
           {"evicted stream=s1 video=v1", "allowed stream=s4 request=r4 video=v1"}},
          {policy::monitor,
           true,
           "",
           true,
           0,
           {"s1", "s2", "s3", "s4"},
           {"4 verdict r4 allowed s4 over_limit"},
           {"allowed stream=s4 request=r4 video=v1 reason=over_limit"}},
      }));
  CAPTURE(to_string(p));
  const rules r = test_rules();
  user_state state = state_of("alice", std::nullopt, p);
  fill(state, 3, r);
  const std::vector<stream> before = state.streams;
  const std::int64_t now = t0 + 10'000;

  effects out;
  const start_result decided = start(state, start_of("r4"), true, "s4", now, r, out);
  const verdict& v = decided.v;
  CHECK_FALSE(decided.replayed);
  CHECK(v.allowed == allowed);
  CHECK(v.reason == reason);
  CHECK(v.over_limit == over_limit);
  CHECK(v.limit == 3);
  CHECK(v.active == static_cast<int>(streams_after.size()));
  CHECK(ids_of(state.streams) == streams_after);
  if (allowed) {
    REQUIRE(v.granted.has_value());
    CHECK(*v.granted == stream{"s4", "alice", "v1", "", now, now + lease});
    CHECK(v.streams.empty());
  } else {
    CHECK_FALSE(v.granted.has_value());
    CHECK(v.streams == before);  // the streams in use, as a client shows them to pick one to stop
  }
  CHECK(describe_all(out.events) == events);
  CHECK(describe_all(out.audit) == audit);
  check_stamps(out, "alice", now);
  check_counters(out, {.allowed = allowed ? 1 : 0,
                       .denied = allowed ? 0 : 1,
                       .over_limit = over_limit ? 1 : 0,
                       .evicted = evicted});
  CHECK(out.changed);
  CHECK(state.seq == 3 + events.size());
  REQUIRE(state.starts.size() == 4);
  CHECK(state.starts.back().allowed == allowed);
  CHECK(state.starts.back().over_limit == over_limit);
  CHECK(state.starts.back().reason == reason);
  CHECK(state.starts.back().active == v.active);
}

TEST_CASE(
    "a lowered limit applies from the next start: evict_oldest ends several, deny and "
    "monitor keep every stream",
    "[core][start][policy]") {
  using strings = std::vector<std::string>;
  auto [p, new_limit, allowed, over_limit, streams_after,
        events] = GENERATE(table<policy, int, bool, bool, strings, strings>({
      {policy::deny, 1, false, false, {"s1", "s2", "s3"}, {"4 verdict r4 denied limit_reached"}},
      {policy::evict_oldest,
       2,
       true,
       false,
       {"s3", "s4"},
       {"4 ended s1 evicted", "5 ended s2 evicted", "6 verdict r4 allowed s4"}},
      {policy::evict_oldest,
       1,
       true,
       false,
       {"s4"},
       {"4 ended s1 evicted", "5 ended s2 evicted", "6 ended s3 evicted",
        "7 verdict r4 allowed s4"}},
      {policy::monitor,
       1,
       true,
       true,
       {"s1", "s2", "s3", "s4"},
       {"4 verdict r4 allowed s4 over_limit"}},
  }));
  CAPTURE(to_string(p), new_limit);
  const rules r = test_rules();
  user_state state = state_of("alice", 3, p);
  fill(state, 3, r);

  patch_user_request lower;
  lower.user_id = "alice";
  lower.max_streams = new_limit;
  REQUIRE(patch_user(state, lower, r).has_value());
  // The patch itself ends nothing and publishes nothing.
  REQUIRE(ids_of(state.streams) == strings{"s1", "s2", "s3"});
  REQUIRE(state.seq == 3);

  effects out;
  const verdict v = start(state, start_of("r4"), true, "s4", t0 + 10'000, r, out).v;
  CHECK(v.allowed == allowed);
  CHECK(v.over_limit == over_limit);
  CHECK(v.limit == new_limit);
  CHECK(v.active == static_cast<int>(streams_after.size()));
  CHECK(ids_of(state.streams) == streams_after);
  CHECK(describe_all(out.events) == events);
  CHECK(out.evicted == static_cast<int>(events.size()) - 1);
  CHECK(out.over_limit == (over_limit ? 1 : 0));
  if (!allowed) CHECK(ids_of(v.streams) == strings{"s1", "s2", "s3"});
}

TEST_CASE(
    "a limit of 0 denies under deny and evict_oldest without ending a stream; monitor "
    "allows over the limit",
    "[core][start][policy]") {
  auto [p, allowed] = GENERATE(table<policy, bool>({
      {policy::deny, false},
      {policy::evict_oldest, false},
      {policy::monitor, true},
  }));
  const int running = GENERATE(0, 1);
  CAPTURE(to_string(p), running);
  const rules r = test_rules();
  user_state state = state_of("alice", 3, p);
  fill(state, running, r);
  state.u.max_streams = 0;

  effects out;
  const verdict v = start(state, start_of("r9"), true, "s9", t0 + 5000, r, out).v;
  CHECK(v.allowed == allowed);
  CHECK(v.limit == 0);
  CHECK(out.evicted == 0);
  CHECK(v.over_limit == allowed);
  CHECK(out.over_limit == (allowed ? 1 : 0));
  CHECK(v.reason == (allowed ? "" : "limit_reached"));
  CHECK(state.streams.size() == static_cast<std::size_t>(running + (allowed ? 1 : 0)));
  CHECK(v.active == static_cast<int>(state.streams.size()));
  CHECK(out.events.size() == 1);  // the verdict alone: no stream ended
}

TEST_CASE("the limit and policy are the user's own, else a known plan's, else the default",
          "[core][plan]") {
  auto [max_streams, policy_override, plan_id, limit, limit_policy, found_plan] =
      GENERATE(table<std::optional<int>, std::optional<policy>, std::optional<std::string>, int,
                     policy, std::string>({
          {std::nullopt, std::nullopt, std::nullopt, 3, policy::deny, ""},
          {std::nullopt, std::nullopt, "solo", 1, policy::deny, "solo"},
          {std::nullopt, std::nullopt, "family", 4, policy::evict_oldest, "family"},
          {std::nullopt, std::nullopt, "shadow", 2, policy::monitor, "shadow"},
          {5, std::nullopt, "solo", 5, policy::deny, "solo"},
          {std::nullopt, policy::monitor, "solo", 1, policy::monitor, "solo"},
          {0, policy::deny, "family", 0, policy::deny, "family"},
          {7, policy::evict_oldest, std::nullopt, 7, policy::evict_oldest, ""},
          // A plan no longer in the rules counts as no plan.
          {std::nullopt, std::nullopt, "gone", 3, policy::deny, ""},
          {2, policy::monitor, "gone", 2, policy::monitor, ""},
      }));
  CAPTURE(max_streams, plan_id);
  const rules r = test_rules();
  user u{"alice", "Alice", max_streams, policy_override, plan_id, ""};
  CHECK(limit_of(u, r) == limit);
  CHECK(policy_of(u, r) == limit_policy);
  const plan* found = plan_of(u, r);
  if (found_plan.empty()) {
    CHECK(found == nullptr);
  } else {
    REQUIRE(found != nullptr);
    CHECK(found->id == found_plan);
  }
}

TEST_CASE("without an override or plan the rules' defaults apply", "[core][plan]") {
  rules r = test_rules();
  r.default_max_streams = 5;
  r.default_policy = policy::monitor;
  const user u{"alice", "Alice", std::nullopt, std::nullopt};
  CHECK(limit_of(u, r) == 5);
  CHECK(policy_of(u, r) == policy::monitor);
  CHECK(plan_of(u, r) == nullptr);
}

TEST_CASE("a start applies the limit and policy of the user's plan", "[core][start][plan]") {
  const rules r = test_rules();
  user_state state = state_of("alice");

  SECTION("solo denies a second stream") {
    state.u.plan = "solo";
    fill(state, 1, r);
    effects out;
    const verdict v = start(state, start_of("r2"), true, "s2", t0 + 5000, r, out).v;
    CHECK_FALSE(v.allowed);
    CHECK(v.reason == "limit_reached");
    CHECK(v.limit == 1);
  }
  SECTION("solo with an evict_oldest override evicts the first stream") {
    state.u.plan = "solo";
    state.u.policy_override = policy::evict_oldest;
    fill(state, 1, r);
    effects out;
    const verdict v = start(state, start_of("r2"), true, "s2", t0 + 5000, r, out).v;
    CHECK(v.allowed);
    CHECK(ids_of(state.streams) == std::vector<std::string>{"s2"});
    CHECK(describe_all(out.events) ==
          std::vector<std::string>{"2 ended s1 evicted", "3 verdict r2 allowed s2"});
  }
  SECTION("shadow allows over its limit of 2 and marks each start beyond it") {
    state.u.plan = "shadow";
    effects out;
    std::vector<bool> over;
    for (int i = 1; i <= 4; ++i) {
      const verdict v = start(state, start_of("r" + n(i)), true, "s" + n(i), t0 + i, r, out).v;
      CHECK(v.allowed);
      CHECK(v.limit == 2);
      CHECK(v.active == i);
      over.push_back(v.over_limit);
    }
    CHECK(over == std::vector<bool>{false, false, true, true});
    check_counters(out, {.allowed = 4, .over_limit = 2});
    CHECK(out.audit[1].reason.empty());
    CHECK(out.audit[2].reason == "over_limit");
  }
}

// ---- start: unknown video, sessions ----

TEST_CASE(
    "a start of an unknown video is denied with unknown_video, below the limit and before "
    "a session match",
    "[core][start]") {
  const policy p = GENERATE(policy::deny, policy::evict_oldest, policy::monitor);
  CAPTURE(to_string(p));
  const rules r = test_rules();
  user_state state = state_of("alice", std::nullopt, p);
  fill(state, 1, r, t0, {"tv"});
  const std::int64_t now = t0 + 5000;

  effects out;
  const start_result decided = start(state, start_of("r2", "tv", "nope"), false, "s2", now, r, out);
  const verdict& v = decided.v;
  CHECK_FALSE(v.allowed);
  CHECK(v.reason == "unknown_video");
  CHECK_FALSE(v.granted.has_value());
  CHECK_FALSE(v.over_limit);
  CHECK(v.active == 1);
  CHECK(v.limit == 3);
  CHECK(v.streams == state.streams);
  CHECK(v.decided_at_ms == now);
  // The session's stream is neither renewed nor joined by a new one.
  REQUIRE(ids_of(state.streams) == std::vector<std::string>{"s1"});
  CHECK(state.streams[0].expires_at_ms == t0 + lease);
  CHECK(describe_all(out.events) == std::vector<std::string>{"2 verdict r2 denied unknown_video"});
  CHECK(describe_all(out.audit) ==
        std::vector<std::string>{"denied request=r2 video=nope reason=unknown_video"});
  check_stamps(out, "alice", now);
  check_counters(out, {.denied = 1});
  CHECK(out.changed);
  REQUIRE(state.starts.size() == 2);
  CHECK(state.starts.back() ==
        remembered_start{"r2", "nope", "tv", now, false, false, "", 0, "unknown_video", 1, 3});
}

TEST_CASE(
    "a start with the session of a live stream renews it and takes no slot under every "
    "policy",
    "[core][start][session]") {
  const policy p = GENERATE(policy::deny, policy::evict_oldest, policy::monitor);
  CAPTURE(to_string(p));
  const rules r = test_rules();
  user_state state = state_of("alice", std::nullopt, p);
  fill(state, 3, r, t0, {"a", "b", "c"});
  const std::int64_t now = t0 + 30'000;

  effects out;
  const verdict v = start(state, start_of("r4", "b"), true, "s4", now, r, out).v;
  CHECK(v.allowed);
  CHECK_FALSE(v.over_limit);
  CHECK(v.active == 3);
  REQUIRE(v.granted.has_value());
  CHECK(*v.granted == stream{"s2", "alice", "v1", "b", t0 + 1000, now + lease});
  CHECK(ids_of(state.streams) == std::vector<std::string>{"s1", "s2", "s3"});
  CHECK(state.streams[1].expires_at_ms == now + lease);
  CHECK(state.streams[0].expires_at_ms == t0 + lease);
  CHECK(describe_all(out.events) == std::vector<std::string>{"4 verdict r4 allowed s2"});
  CHECK(describe_all(out.audit) ==
        std::vector<std::string>{"allowed stream=s2 request=r4 video=v1"});
  check_counters(out, {.allowed = 1});
  REQUIRE(state.starts.size() == 4);
  CHECK(state.starts.back().stream_id == "s2");
  CHECK(state.starts.back().expires_at_ms == now + lease);
}

TEST_CASE("an empty session never matches, nor does the session of a lapsed stream",
          "[core][start][session]") {
  const rules r = test_rules();
  user_state state = state_of("alice");

  SECTION("two starts without a session are two streams") {
    fill(state, 2, r);
    CHECK(ids_of(state.streams) == std::vector<std::string>{"s1", "s2"});
  }
  SECTION("a lapsed stream ends first, then the start takes a new stream") {
    fill(state, 1, r, t0, {"tv"});
    effects out;
    const verdict v = start(state, start_of("r2", "tv"), true, "s2", t0 + lease, r, out).v;
    REQUIRE(v.granted.has_value());
    CHECK(*v.granted == stream{"s2", "alice", "v1", "tv", t0 + lease, t0 + 2 * lease});
    CHECK(describe_all(out.events) ==
          std::vector<std::string>{"2 ended s1 expired", "3 verdict r2 allowed s2"});
  }
}

}  // namespace streamgate::core
