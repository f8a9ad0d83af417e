#pragma once

// What the store conformance suite (tests/store/conformance_*_test.cpp) builds its cases from:
// users, streams, starts and audit lines as the decision core makes them, commits of them, and
// how to ask a store's lease index. Every case runs on SQLite, a redis-server and a 3-master
// Redis Cluster (test_store.hpp).

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "test_store.hpp"
#include "tests/unit/starts_named.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/store.hpp"

namespace Catch {

// A failed comparison of two states shows what differs, not "{?}".
template <>
struct StringMaker<streamgate::core::user_state> {
  static std::string convert(const streamgate::core::user_state& s) {
    std::ostringstream out;
    out << "{user " << s.u.id << " '" << s.u.name << "' max "
        << (s.u.max_streams ? std::to_string(*s.u.max_streams) : "-") << " policy "
        << (s.u.policy_override ? streamgate::to_string(*s.u.policy_override) : "-") << " plan "
        << s.u.plan.value_or("-") << " token '" << s.u.token_hash << "'; streams";
    for (const auto& st : s.streams)
      out << ' ' << st.stream_id << '/' << st.user_id << '/' << st.video_id << '/' << st.session_id
          << '/' << st.started_at_ms << '-' << st.expires_at_ms;
    out << "; starts";
    for (const auto& r : s.starts)
      out << ' ' << r.request_id << '/' << r.video_id << '/' << r.session_id << '@'
          << r.decided_at_ms << (r.allowed ? " allowed " : " denied ") << r.stream_id << '/'
          << r.expires_at_ms << '/' << r.reason << '/' << r.active << '/' << r.limit
          << (r.over_limit ? "/over" : "");
    out << "; seq " << s.seq << " version " << s.version << '}';
    return out.str();
  }
};

}  // namespace Catch

namespace streamgate::conformance {

// A user with every field set, so a round trip that drops one is seen.
inline core::user_state full_user(const std::string& id) {
  core::user_state s;
  s.u.id = id;
  s.u.name = "User " + id + " \xc3\xa9\xe2\x9c\x93";  // not only ASCII
  s.u.max_streams = 2;
  s.u.policy_override = policy::evict_oldest;
  s.u.plan = "premium";
  s.u.token_hash = std::string(64, 'a');
  return s;
}

inline stream stream_of(const std::string& user_id, const std::string& stream_id,
                        std::int64_t expires_at_ms) {
  return {stream_id, user_id, "v01", "tv-" + stream_id, expires_at_ms - 90'000, expires_at_ms};
}

// The remembered start of an allowed request that granted `granted`.
inline core::remembered_start start_for(const std::string& request_id, const stream& granted) {
  core::remembered_start r;
  r.request_id = request_id;
  r.video_id = granted.video_id;
  r.session_id = granted.session_id;
  r.decided_at_ms = granted.started_at_ms;
  r.allowed = true;
  r.stream_id = granted.stream_id;
  r.expires_at_ms = granted.expires_at_ms;
  r.active = 1;
  r.limit = 2;
  return r;
}

inline core::remembered_start denied_start(const std::string& request_id, std::int64_t at_ms) {
  core::remembered_start r;
  r.request_id = request_id;
  r.video_id = "v02";
  r.decided_at_ms = at_ms;
  r.reason = "limit_reached";
  r.over_limit = false;
  r.active = 2;
  r.limit = 2;
  return r;
}

inline audit_entry audit_line(const std::string& user_id, std::int64_t at_ms, std::string type,
                              std::string request_id = "", std::string stream_id = "",
                              std::string reason = "") {
  audit_entry e;
  e.user_id = user_id;
  e.at_ms = at_ms;
  e.type = std::move(type);
  e.stream_id = std::move(stream_id);
  e.request_id = std::move(request_id);
  e.video_id = e.type == "allowed" || e.type == "denied" ? "v01" : "";
  e.reason = std::move(reason);
  return e;
}

// audit_entry has no operator==: lines are compared as text, which also shows them on failure.
inline std::string shown(const audit_entry& e) {
  return e.user_id + "|" + std::to_string(e.at_ms) + "|" + e.type + "|" + e.stream_id + "|" +
         e.request_id + "|" + e.video_id + "|" + e.reason;
}

inline std::vector<std::string> shown(const std::vector<audit_entry>& lines) {
  std::vector<std::string> out;
  for (const audit_entry& e : lines) out.push_back(shown(e));
  return out;
}

// What recent_audit should answer after these lines were appended in this order.
inline std::vector<std::string> newest_first(std::vector<audit_entry> appended, std::size_t limit) {
  std::reverse(appended.begin(), appended.end());
  if (appended.size() > limit) appended.resize(limit);
  return shown(appended);
}

inline user_commit commit_of(core::user_state state, std::vector<audit_entry> audit = {},
                             std::optional<std::int64_t> next_expiry = std::nullopt,
                             std::vector<std::string> new_request_ids = {}) {
  user_commit c;
  c.new_starts = test::starts_named(state, new_request_ids);
  c.state = std::move(state);
  c.audit = std::move(audit);
  c.next_expiry = next_expiry;
  return c;
}

// `state` as the store should hold it after `commits` commits from nothing.
inline core::user_state at_version(core::user_state state, std::uint64_t version) {
  state.version = version;
  return state;
}

// Enough due_users calls for a Redis store to scan every per-slot lease index twice (it scans
// slots_per_scan of the 16384 per call); SQLite answers from its whole index at every call.
inline std::size_t due_calls() {
  return 2 * (redis_slot_count / redis_store_options{}.slots_per_scan) + 1;
}

// Whether due_users names `user` within due_calls() calls.
inline bool named_due(store& s, const std::string& user, std::int64_t now_ms) {
  for (std::size_t call = 0; call < due_calls(); ++call) {
    const std::vector<std::string> due = s.due_users(now_ms, 100);
    if (std::find(due.begin(), due.end(), user) != due.end()) return true;
  }
  return false;
}

inline dataset_catalog test_catalog() {
  dataset_catalog c;
  // Not in id order: the store gives them back sorted.
  c.videos = {{"v03", "Three", 5400}, {"v01", "One \xe2\x80\x94 first", 60}, {"v02", "Two", 0}};
  c.plans = {{"premium", 4, policy::evict_oldest},
             {"basic", 1, policy::deny},
             {"family", 3, policy::monitor}};
  return c;
}

}  // namespace streamgate::conformance
