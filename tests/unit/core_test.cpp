#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "worker/core/decisions.hpp"

namespace streamgate::core {
namespace {

// The core reads no clock: every instant is a plain millisecond count the test names.
constexpr std::int64_t t0 = 1'700'000'000'000;
constexpr std::int64_t lease = 90'000;
constexpr std::int64_t memory = 600'000;

// A default of 3 streams under deny, and three plans, one per policy.
rules test_rules() {
  rules r;
  r.default_max_streams = 3;
  r.default_policy = policy::deny;
  r.lease_ms = lease;
  r.request_memory_ms = memory;
  r.max_remembered_starts = 64;
  r.plans = {{"solo", 1, policy::deny},
             {"family", 4, policy::evict_oldest},
             {"shadow", 2, policy::monitor}};
  return r;
}

user_state state_of(std::string id, std::optional<int> max_streams = std::nullopt,
                    std::optional<policy> policy_override = std::nullopt) {
  user_state state;
  state.u.id = std::move(id);
  state.u.name = "Name of " + state.u.id;
  state.u.max_streams = max_streams;
  state.u.policy_override = policy_override;
  return state;
}

start_request start_of(std::string request_id, std::string session_id = "",
                       std::string video_id = "v1", std::string user_id = "alice") {
  return {std::move(request_id), std::move(user_id), std::move(video_id), std::move(session_id)};
}

std::string n(int i) { return std::to_string(i); }

// Starts s1..s<count> (requests r1.., sessions from `sessions` when given), one second apart
// from `at`, each of which must be a new allowed stream. Their effects are dropped.
void fill(user_state& state, int count, const rules& r, std::int64_t at = t0,
          const std::vector<std::string>& sessions = {}) {
  for (int i = 1; i <= count; ++i) {
    effects ignored;
    const std::string session = sessions.empty() ? "" : sessions[static_cast<std::size_t>(i - 1)];
    const start_result decided = start(state, start_of("r" + n(i), session), true, "s" + n(i),
                                       at + (i - 1) * 1000, r, ignored);
    REQUIRE(decided.v.allowed);
    REQUIRE_FALSE(decided.replayed);
    REQUIRE(decided.v.granted->stream_id == "s" + n(i));
  }
}

std::vector<std::string> ids_of(const std::vector<stream>& streams) {
  std::vector<std::string> ids;
  for (const stream& s : streams) ids.push_back(s.stream_id);
  return ids;
}

std::vector<std::string> request_ids_of(const std::vector<remembered_start>& starts) {
  std::vector<std::string> ids;
  for (const remembered_start& s : starts) ids.push_back(s.request_id);
  return ids;
}

// One line per event or audit entry, so a whole decision compares in one CHECK.
std::string describe(const event& e) {
  std::string line = n(static_cast<int>(e.seq));
  if (const auto* v = std::get_if<verdict>(&e.what)) {
    line += " verdict " + v->request_id;
    if (v->allowed) {
      line += " allowed " + (v->granted ? v->granted->stream_id : std::string("<none>"));
      if (v->over_limit) line += " over_limit";
    } else {
      line += " denied " + v->reason;
    }
    return line;
  }
  if (const auto* revoked = std::get_if<access_revoked>(&e.what))
    return line + " revoked " + revoked->user_id;
  const auto& ended = std::get<ended_event>(e.what);
  return line + " ended " + ended.stream_id + " " + std::string(to_string(ended.reason)) +
         (ended.user_id == "alice" ? "" : " of " + ended.user_id);
}
std::string describe(const audit_entry& a) {
  std::string line = a.type;
  if (!a.stream_id.empty()) line += " stream=" + a.stream_id;
  if (!a.request_id.empty()) line += " request=" + a.request_id;
  if (!a.video_id.empty()) line += " video=" + a.video_id;
  if (!a.reason.empty()) line += " reason=" + a.reason;
  return line;
}
template <class T>
std::vector<std::string> describe_all(const std::vector<T>& items) {
  std::vector<std::string> lines;
  for (const T& item : items) lines.push_back(describe(item));
  return lines;
}

// Every audit line of a single decision is stamped with its user and time.
void check_stamps(const effects& out, const std::string& user_id, std::int64_t now_ms) {
  for (const audit_entry& a : out.audit) {
    CAPTURE(describe(a));
    CHECK(a.user_id == user_id);
    CHECK(a.at_ms == now_ms);
  }
}

struct counters {
  int allowed = 0;
  int denied = 0;
  int over_limit = 0;
  int evicted = 0;
  int expired = 0;
  int replayed = 0;
};
void check_counters(const effects& out, const counters& expected) {
  CHECK(out.allowed == expected.allowed);
  CHECK(out.denied == expected.denied);
  CHECK(out.over_limit == expected.over_limit);
  CHECK(out.evicted == expected.evicted);
  CHECK(out.expired == expected.expired);
  CHECK(out.replayed == expected.replayed);
}

void check_same(const verdict& actual, const verdict& expected) {
  CHECK(actual.request_id == expected.request_id);
  CHECK(actual.user_id == expected.user_id);
  CHECK(actual.video_id == expected.video_id);
  CHECK(actual.session_id == expected.session_id);
  CHECK(actual.allowed == expected.allowed);
  CHECK(actual.granted == expected.granted);
  CHECK(actual.active == expected.active);
  CHECK(actual.limit == expected.limit);
  CHECK(actual.reason == expected.reason);
  CHECK(actual.over_limit == expected.over_limit);
  CHECK(actual.streams == expected.streams);
  CHECK(actual.decided_at_ms == expected.decided_at_ms);
}

const verdict& published_verdict(const effects& out) {
  REQUIRE_FALSE(out.events.empty());
  const auto* v = std::get_if<verdict>(&out.events.back().what);
  REQUIRE(v != nullptr);
  return *v;
}

}  // namespace

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
  SECTION("an allowed start whose stream ended since still names that stream") {
    user_state state = state_of("alice");
    effects out;
    const verdict original = start(state, start_of("r1"), true, "s1", t0, r, out).v;
    REQUIRE(stop(state, "s1", t0 + 1000, r, out).has_value());
    const start_result replay = start(state, start_of("r1"), true, "s9", t0 + 2000, r, out);
    CHECK(replay.replayed);
    check_same(replay.v, original);
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

TEST_CASE("the latest max_remembered_starts are kept, an eighth more at most, the oldest forgotten "
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

  SECTION("allowed") {
    const remembered_start kept{"r1", "v3", "phone", t0 - 50, true, true, "x0", t0 + 40, "", 4, 2};
    const verdict v = verdict_of(state, kept);
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
    const verdict v = verdict_of(state, kept);
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
  check_same(verdict_of(state, *kept), v);
}

TEST_CASE("a session renewal's rebuilt verdict names the same stream and lease",
          "[core][replay][session]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 1, r, t0, {"tv"});
  effects out;
  const verdict v = start(state, start_of("r2", "tv"), true, "s9", t0 + 5000, r, out).v;
  const remembered_start* kept = find_start(state, "r2");
  REQUIRE(kept != nullptr);
  const verdict rebuilt = verdict_of(state, *kept);
  REQUIRE(rebuilt.granted.has_value());
  CHECK(rebuilt.granted->stream_id == "s1");
  CHECK(rebuilt.granted->expires_at_ms == v.granted->expires_at_ms);
  // Compact memory keeps no start time: the rebuilt stream starts when the renewal was decided.
  CHECK(rebuilt.granted->started_at_ms == t0 + 5000);
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

TEST_CASE("a new token replaces the old one's hash, is audited and revokes the user's access",
          "[core][access]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  state.u.token_hash = std::string(64, 'a');
  fill(state, 2, r);
  effects out;
  rotate_token(state, std::string(64, 'b'), t0 + 10, out);
  CHECK(state.u.token_hash == std::string(64, 'b'));
  CHECK(ids_of(state.streams) == std::vector<std::string>{"s1", "s2"});  // they keep playing
  CHECK(describe_all(out.events) == std::vector<std::string>{"3 revoked alice"});
  CHECK(describe_all(out.audit) == std::vector<std::string>{"token_rotated"});
  check_stamps(out, "alice", t0 + 10);
  CHECK(out.changed);
  CHECK_FALSE(out.removed);
}

TEST_CASE("deleting a user ends its live streams with reason deleted, then revokes and removes it",
          "[core][access]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  effects out;
  SECTION("with streams, one of them lapsed") {
    fill(state, 3, r);
    state.streams[0].expires_at_ms = t0 + 1;
    CHECK(delete_user(state, t0 + 5, r, out) == 2);
    CHECK(state.streams.empty());
    CHECK(describe_all(out.events) == std::vector<std::string>{
                                          "4 ended s1 expired", "5 ended s2 deleted",
                                          "6 ended s3 deleted", "7 revoked alice"});
  }
  SECTION("without a stream") {
    CHECK(delete_user(state, t0, r, out) == 0);
    CHECK(describe_all(out.events) == std::vector<std::string>{"1 revoked alice"});
  }
  CHECK(out.changed);
  CHECK(out.removed);
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
  check_counters(out, {});
  CHECK(state == before);
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

// ---- users ----

TEST_CASE("create_user makes a version 0 state from a valid request", "[core][users]") {
  auto [max_streams, plan_id, token_hash] =
      GENERATE(table<std::optional<int>, std::optional<std::string>, std::optional<std::string>>({
          {std::nullopt, std::nullopt, std::nullopt},
          {0, std::nullopt, std::string(64, 'a')},
          {max_streams_ceiling, "family", std::nullopt},
          {2, "solo", std::string(64, 'f')},
      }));
  CAPTURE(max_streams, plan_id);
  create_user_request request;
  request.id = "ignored-the-id-argument-wins";
  request.name = "Alice";
  request.max_streams = max_streams;
  request.policy_override = policy::monitor;
  request.token_hash = token_hash;
  request.plan = plan_id;

  const result<user_state> created = create_user(request, "u_1", test_rules());
  REQUIRE(created.has_value());
  CHECK(created->u ==
        user{"u_1", "Alice", max_streams, policy::monitor, plan_id, token_hash.value_or("")});
  CHECK(created->streams.empty());
  CHECK(created->starts.empty());
  CHECK(created->seq == 0);
  CHECK(created->version == 0);
}

TEST_CASE("create_user refuses a limit outside 0..max_streams_ceiling or an unknown plan",
          "[core][users]") {
  auto [max_streams, plan_id, message] =
      GENERATE(table<std::optional<int>, std::optional<std::string>, std::string>({
          {-1, std::nullopt, "maxStreams -1 is outside 0..1000"},
          {max_streams_ceiling + 1, std::nullopt, "maxStreams 1001 is outside 0..1000"},
          {std::nullopt, "gold", "unknown plan 'gold'"},
          {std::nullopt, "", "unknown plan ''"},
          {3, "SOLO", "unknown plan 'SOLO'"},
      }));
  CAPTURE(max_streams, plan_id);
  create_user_request request;
  request.name = "Alice";
  request.max_streams = max_streams;
  request.plan = plan_id;
  const result<user_state> created = create_user(request, "u_1", test_rules());
  REQUIRE(created.has_error());
  CHECK(created.error().code == error_code::bad_request);
  CHECK(created.error().message == message);
}

TEST_CASE("patch_user applies only the fields that are set", "[core][users]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  state.u = user{"alice", "Alice", 2, policy::deny, "solo", "hash"};
  fill(state, 1, r);
  user expected = state.u;
  patch_user_request patch;
  patch.user_id = "alice";

  SECTION("nothing") {}
  SECTION("name") {
    patch.name = "Alice L.";
    expected.name = "Alice L.";
  }
  SECTION("limit, to the ceiling") {
    patch.max_streams = max_streams_ceiling;
    expected.max_streams = max_streams_ceiling;
  }
  SECTION("policy") {
    patch.policy_override = policy::evict_oldest;
    expected.policy_override = policy::evict_oldest;
  }
  SECTION("plan") {
    patch.plan = "family";
    expected.plan = "family";
  }
  SECTION("all at once, limit to 0") {
    patch.name = "A";
    patch.max_streams = 0;
    patch.policy_override = policy::monitor;
    patch.plan = "shadow";
    expected = user{"alice", "A", 0, policy::monitor, "shadow", "hash"};
  }
  const std::vector<stream> streams = state.streams;
  REQUIRE(patch_user(state, patch, r).has_value());
  CHECK(state.u == expected);
  CHECK(state.streams == streams);  // a lowered limit ends no running stream
  CHECK(state.seq == 1);
}

TEST_CASE("patch_user refuses a bad limit or plan and changes nothing", "[core][users]") {
  auto [name, max_streams, plan_id, message] =
      GENERATE(table<std::optional<std::string>, std::optional<int>, std::optional<std::string>,
                     std::string>({
          {std::nullopt, -1, std::nullopt, "maxStreams -1 is outside 0..1000"},
          {std::nullopt, 1001, std::nullopt, "maxStreams 1001 is outside 0..1000"},
          {std::nullopt, std::nullopt, "gold", "unknown plan 'gold'"},
          // A valid field beside a bad one is not applied either.
          {"Bob", 1001, std::nullopt, "maxStreams 1001 is outside 0..1000"},
          {"Bob", 2, "gold", "unknown plan 'gold'"},
      }));
  CAPTURE(max_streams, plan_id);
  const rules r = test_rules();
  user_state state = state_of("alice", 3);
  const user_state before = state;
  patch_user_request patch;
  patch.user_id = "alice";
  patch.name = name;
  patch.max_streams = max_streams;
  patch.plan = plan_id;
  patch.policy_override = policy::monitor;

  const result<void> patched = patch_user(state, patch, r);
  REQUIRE(patched.has_error());
  CHECK(patched.error().code == error_code::bad_request);
  CHECK(patched.error().message == message);
  CHECK(state == before);
}

}  // namespace streamgate::core
