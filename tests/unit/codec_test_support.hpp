#pragma once

// What the codec's and the views' tests (tests/unit/codec_*_test.cpp, views_test.cpp) share:
// equality of messages field by field, sample values, reading what the encoders wrote, and
// checking a refusal. Inline in a namespace of their own, so test files compiled together (a
// unity build) see them once.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "common/codec.hpp"

namespace streamgate::codec_test {

// ---- equality of messages, field by field (the messages have no operator==) ------------------

inline auto fields_of(const start_request& r) {
  return std::tie(r.request_id, r.user_id, r.video_id, r.session_id, r.request_id_made);
}
inline auto fields_of(const heartbeat_request& r) { return std::tie(r.user_id, r.stream_id); }
inline auto fields_of(const stop_request& r) { return std::tie(r.user_id, r.stream_id); }
inline auto fields_of(const stop_all_request& r) { return std::tie(r.user_id); }
inline auto fields_of(const get_user_request& r) { return std::tie(r.user_id); }
inline auto fields_of(const list_users_request& r) {
  return std::tie(r.name_filter, r.after, r.limit);
}
inline auto fields_of(const create_user_request& r) {
  return std::tie(r.id, r.name, r.max_streams, r.policy_override, r.token_hash, r.plan);
}
inline auto fields_of(const patch_user_request& r) {
  return std::tie(r.user_id, r.name, r.max_streams, r.policy_override, r.plan);
}
inline auto fields_of(const list_streams_request& r) { return std::tie(r.user_id); }
inline auto fields_of(const snapshot_request& r) { return std::tie(r.user_id); }
inline auto fields_of(const list_videos_request&) { return std::tie(); }
inline auto fields_of(const get_video_request& r) { return std::tie(r.video_id); }
inline auto fields_of(const get_request_request& r) { return std::tie(r.request_id, r.owner_id); }
inline auto fields_of(const ping_request& r) { return std::tie(r.clock_offset_ms); }
inline auto fields_of(const list_events_request& r) { return std::tie(r.user_id, r.limit); }
inline auto fields_of(const authenticate_request& r) { return std::tie(r.user_id, r.token_hash); }
inline auto fields_of(const stats_request&) { return std::tie(); }
inline auto fields_of(const list_plans_request&) { return std::tie(); }
inline auto fields_of(const rotate_token_request& r) { return std::tie(r.user_id, r.token_hash); }
inline auto fields_of(const delete_user_request& r) { return std::tie(r.user_id); }
inline auto fields_of(const video& v) { return std::tie(v.id, v.title, v.duration_seconds); }

template <class T>
bool same(const T& a, const T& b) {
  return fields_of(a) == fields_of(b);
}

inline bool same(const request& a, const request& b) {
  return a.corr == b.corr && a.deadline_ms == b.deadline_ms && a.body.index() == b.body.index() &&
         std::visit(
             [&](const auto& left) {
               return same(left, std::get<std::decay_t<decltype(left)>>(b.body));
             },
             a.body);
}

// ---- sample values -----------------------------------------------------------------------------

inline constexpr std::int64_t t0 = 1795774399123;  // 2026-11-27T10:13:19.123Z

inline stream sample_stream(std::string stream_id, std::int64_t started_at_ms) {
  return {std::move(stream_id), "alice", "v1", "tab-1", started_at_ms, started_at_ms + 90000};
}

inline verdict allowed_verdict() {
  verdict v;
  v.request_id = "r_1";
  v.user_id = "alice";
  v.video_id = "v1";
  v.session_id = "tab-1";
  v.allowed = true;
  v.granted = sample_stream("s_1", t0);
  v.active = 2;
  v.limit = 3;
  v.decided_at_ms = t0;
  return v;
}

inline verdict denied_verdict() {
  verdict v;
  v.request_id = "r_2";
  v.user_id = "alice";
  v.video_id = "v2";
  v.session_id = "tab-4";
  v.allowed = false;
  v.active = 3;
  v.limit = 3;
  v.reason = "limit_reached";
  v.streams = {sample_stream("s_1", t0), sample_stream("s_2", t0 + 1),
               sample_stream("s_3", t0 + 2)};
  v.decided_at_ms = t0 + 5;
  return v;
}

// ---- reading what the encoders wrote ----------------------------------------------------------

inline rapidjson::Document parse(const std::string& json) {
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

inline std::vector<std::string> member_names(const rapidjson::Value& object) {
  REQUIRE(object.IsObject());
  std::vector<std::string> names;
  for (const auto& member : object.GetObject()) names.emplace_back(member.name.GetString());
  return names;
}

inline std::string text(const rapidjson::Value& object, const char* name) {
  REQUIRE(object.HasMember(name));
  REQUIRE(object[name].IsString());
  return object[name].GetString();
}

inline void check_stream_object(const rapidjson::Value& object, const stream& s) {
  CHECK(member_names(object) == std::vector<std::string>{"streamId", "userId", "videoId",
                                                         "sessionId", "startedAt", "expiresAt"});
  CHECK(text(object, "streamId") == s.stream_id);
  CHECK(text(object, "userId") == s.user_id);
  CHECK(text(object, "videoId") == s.video_id);
  CHECK(text(object, "sessionId") == s.session_id);
  CHECK(text(object, "startedAt") == format_iso8601(s.started_at_ms));
  CHECK(text(object, "expiresAt") == format_iso8601(s.expires_at_ms));
}

// Long inputs (100000 '[') would drown a failure report; show their start only.
inline std::string shown(const std::string& input) {
  return input.size() <= 80
             ? input
             : input.substr(0, 80) + "... (" + std::to_string(input.size()) + " bytes)";
}

template <class T>
void check_refused(const result<T>& decoded, const std::string& input,
                   const std::string& expected) {
  CAPTURE(shown(input), expected);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == error_code::bad_request);
  CHECK_THAT(decoded.error().message, Catch::Contains(expected));
}

inline const std::string bad_id = "must be an id matching [A-Za-z0-9_-]{1,64}";
inline const std::string nested_17 = std::string(17, '[') + std::string(17, ']');
inline const std::string nested_16 =
    std::string(15, '[') + std::string(15, ']');  // inside the object
inline const std::string id_65(65, 'a');
inline const std::string name_201(201, 'n');

}  // namespace streamgate::codec_test
