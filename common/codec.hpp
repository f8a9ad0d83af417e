#pragma once

// JSON encoding and strict decoding of everything streamgate sends or receives, one family per
// file under common/codec/; RapidJSON stays there (strict_json.hpp). Decoders refuse: invalid JSON
// or UTF-8, nesting deeper than max_json_depth, wrong types, missing required fields, unknown
// fields, ids outside [A-Za-z0-9_-]{1,64}; the error is bad_request and its message names the
// field (e.g. "field 'videoId' must be an id matching [A-Za-z0-9_-]{1,64}").

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/domain.hpp"
#include "common/error.hpp"
#include "common/messages.hpp"

namespace streamgate {

// ---- api <-> worker ------------------------------------------------------------------------
std::string encode_request(const request& r);
result<request> decode_request(std::string_view json);

// ---- bodies from HTTP clients (api side) ---------------------------------------------------
// POST /api/v1/users/{id}/streams: {"videoId", "sessionId"?, "requestId"?}
struct start_body {
  std::string video_id;
  std::optional<std::string> session_id;
  std::optional<std::string> request_id;
};
result<start_body> decode_start_body(std::string_view json);
// POST /api/v1/users: {"id"?, "name", "maxStreams"?, "policy"?, "plan"?}; "plan" is a plan's id
result<create_user_request> decode_create_user_body(std::string_view json);
// PATCH /api/v1/users/{id}: {"name"?, "maxStreams"?, "policy"?, "plan"?}, at least one of them
result<patch_user_request> decode_patch_user_body(std::string_view json, std::string user_id);

// ---- WebSocket client -> server (docs/design.md §4) -----------------------------------------
struct ws_start {
  start_body body;
};
struct ws_heartbeat {
  std::string stream_id;
};
struct ws_stop {
  std::string stream_id;
};
using ws_client_message = std::variant<ws_start, ws_heartbeat, ws_stop>;
result<ws_client_message> decode_ws_client_message(std::string_view json);

// ---- bodies and events rendered by the worker ----------------------------------------------
// {"id","name","maxStreams":<effective limit>,"policy":<effective>,"plan"?,"activeStreams"}:
// "plan", the plan's id, only when the user has one.
std::string encode_user(const user& u, int limit, policy effective_policy, int active);
struct user_row {
  const user* u;
  int limit;
  policy effective_policy;
  int active;
};
std::string encode_users(const std::vector<user_row>& rows);  // [user, ...]
// {"streamId","userId","videoId","sessionId","startedAt","expiresAt"} (ISO 8601 UTC)
std::string encode_stream(const stream& s);
std::string encode_streams(const std::vector<stream>& streams);
std::string encode_video(const video& v);  // {"id","title","durationSeconds"}
std::string encode_videos(const std::vector<const video*>& videos);
// GET /api/v1/plans: [{"id","maxStreams","policy"}], in the order given.
std::string encode_plans(const std::vector<plan>& plans);
// REST body of a decided start, also the answer of GET /api/v1/requests/{id}:
// allowed: {"requestId","verdict":"allowed","stream":{...},"active","limit","overLimit"?}
// denied:  {"requestId","verdict":"denied","reason","active","limit","streams":[...]}
// "overLimit":true only on a start the monitor policy allowed over the limit; absent otherwise.
std::string encode_verdict_body(const verdict& v);
// {"requestId","status":"pending"}
std::string encode_pending_body(std::string_view request_id);
// {"expiresAt"}
std::string encode_heartbeat_body(std::int64_t expires_at_ms);
// WebSocket events (docs/design.md §4). The verdict event also carries "stream" when allowed and
// "streams" when denied, so a page can show what is in use without another request, and
// "overLimit":true after "limit" as the REST body does. Both carry "seq", the user's event
// sequence number (common/messages.hpp says how the api uses it).
std::string encode_verdict_event(const verdict& v, std::uint64_t seq);
std::string encode_ended_event(const ended_event& e, std::uint64_t seq);
// {"type":"revoked","userId","seq"}: published with the access note; the apis close the user's
// sockets instead of relaying it (docs/design.md §6).
std::string encode_revoked_event(const access_revoked& e, std::uint64_t seq);
// GET /api/v1/users/{id}/events: [{"at","type","streamId"?,"requestId"?,"videoId"?,"reason"?}]
std::string encode_audit_events(const std::vector<audit_entry>& entries);
// {"type":"snapshot","userId","streams","limit","epoch","seq"}: the user's state as of event
// `seq` of `epoch`.
std::string encode_snapshot(std::string_view user_id, const std::vector<stream>& streams,
                            int limit, std::string_view epoch, std::uint64_t seq);
// {"error":{"code","message"}}
std::string encode_error(const error& e);
std::string encode_error(error_code code, std::string_view message);

// ---- demo catalog (data/catalog.json) -------------------------------------------------------
// {"plans"?:[{"id","maxStreams","policy"?}],
//  "users":[{"id","name","maxStreams"?,"policy"?,"plan"?}],
//  "videos":[{"id","title","durationSeconds"}]}
// A plan without "policy" denies at its limit. A user's "plan" must be one of "plans".
struct catalog {
  std::vector<plan> plans;
  std::vector<user> users;
  std::vector<video> videos;
};
result<catalog> decode_catalog(std::string_view json);

}  // namespace streamgate
