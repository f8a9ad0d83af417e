#pragma once

// The JSON streamgate reads (client bodies and messages, the demo catalog) and the api -> worker
// requests, one family per file under common/codec/, on the strict reader and writer of
// strict_json.hpp. Client bodies are rendered by the api (api/views), the worker's replies travel
// typed (common/wire). Decoders refuse: invalid JSON or UTF-8, nesting deeper than
// max_json_depth, wrong types, missing required fields, unknown fields, ids outside
// [A-Za-z0-9_-]{1,64}; the error is bad_request and its message names the field (e.g. "field
// 'videoId' must be an id matching [A-Za-z0-9_-]{1,64}").

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
