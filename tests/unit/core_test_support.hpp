#pragma once

// What the decision core's tests share (core_start_test.cpp, core_replay_test.cpp,
// core_streams_test.cpp, core_users_test.cpp, core_list_aids_test.cpp): rules and states with an
// injected time, and descriptions of effects.

#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "worker/core/decisions.hpp"

namespace streamgate::core::test_support {

// The core reads no clock: every instant is a plain millisecond count the test names.
inline constexpr std::int64_t t0 = 1'700'000'000'000;
inline constexpr std::int64_t lease = 90'000;
inline constexpr std::int64_t memory = 600'000;

// A default of 3 streams under deny, and three plans, one per policy.
inline rules test_rules() {
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

inline user_state state_of(std::string id, std::optional<int> max_streams = std::nullopt,
                           std::optional<policy> policy_override = std::nullopt) {
  user_state state;
  state.u.id = std::move(id);
  state.u.name = "Name of " + state.u.id;
  state.u.max_streams = max_streams;
  state.u.policy_override = policy_override;
  return state;
}

inline start_request start_of(std::string request_id, std::string session_id = "",
                              std::string video_id = "v1", std::string user_id = "alice") {
  return {std::move(request_id), std::move(user_id), std::move(video_id), std::move(session_id)};
}

inline std::string n(int i) { return std::to_string(i); }

// Starts s1..s<count> (requests r1.., sessions from `sessions` when given), one second apart
// from `at`, each of which must be a new allowed stream. Their effects are dropped.
inline void fill(user_state& state, int count, const rules& r, std::int64_t at = t0,
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

inline std::vector<std::string> ids_of(const std::vector<stream>& streams) {
  std::vector<std::string> ids;
  for (const stream& s : streams) ids.push_back(s.stream_id);
  return ids;
}

// The streams the decisions ended, as their ended events name them, in order.
inline std::vector<std::string> ended_ids(const effects& out) {
  std::vector<std::string> ids;
  for (const event& e : out.events)
    if (const auto* ended = std::get_if<ended_event>(&e.what)) ids.push_back(ended->stream_id);
  return ids;
}

inline std::vector<std::string> request_ids_of(const std::vector<remembered_start>& starts) {
  std::vector<std::string> ids;
  for (const remembered_start& s : starts) ids.push_back(s.request_id);
  return ids;
}

// One line per event or audit entry, so a whole decision compares in one CHECK.
inline std::string describe(const event& e) {
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
inline std::string describe(const audit_entry& a) {
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
inline void check_stamps(const effects& out, const std::string& user_id, std::int64_t now_ms) {
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
inline void check_counters(const effects& out, const counters& expected) {
  CHECK(out.allowed == expected.allowed);
  CHECK(out.denied == expected.denied);
  CHECK(out.over_limit == expected.over_limit);
  CHECK(out.evicted == expected.evicted);
  CHECK(out.expired == expected.expired);
  CHECK(out.replayed == expected.replayed);
}

inline void check_same(const verdict& actual, const verdict& expected) {
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

inline const verdict& published_verdict(const effects& out) {
  REQUIRE_FALSE(out.events.empty());
  const auto* v = std::get_if<verdict>(&out.events.back().what);
  REQUIRE(v != nullptr);
  return *v;
}

}  // namespace streamgate::core::test_support
