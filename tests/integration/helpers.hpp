#pragma once

// What the test cases share: unique ids, the common REST calls and the shape checks of the
// contract's bodies (docs/design.md §2-§4). The checks are Catch2 CHECKs, so one call reports
// every wrong field at once.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_client.hpp"
#include "json.hpp"
#include "ws_client.hpp"

namespace streamgate::it {

// Videos of the demo catalog (data/catalog.json).
inline constexpr std::string_view video_1 = "v01";
inline constexpr std::string_view video_2 = "v02";
inline constexpr std::string_view video_3 = "v03";
inline constexpr std::string_view video_4 = "v04";
inline constexpr int default_limit = 3;

// An id no other test case uses: prefix, pid and a counter ("u-4711-3").
std::string unique_id(std::string_view prefix);

std::string user_path(std::string_view user_id);
std::string streams_path(std::string_view user_id);
std::string stream_path(std::string_view user_id, std::string_view stream_id);
std::string heartbeat_path(std::string_view user_id, std::string_view stream_id);

// Creates a user of its own for the test (201 required) and returns its id.
std::string create_user(http_client& http, std::optional<int> max_streams = std::nullopt);

// A file's whole content (a program's log, a config the test wrote); empty when it is missing.
std::string file_text(const std::filesystem::path& file);

// This host's wall clock in ms since the epoch, as the programs put it in bodies and deadlines.
std::int64_t wall_ms_now();

// The value of one sample line ("name{labels} value") of a Prometheus exposition; -1 if absent.
double sample_value(const std::string& exposition, const std::string& series);

// ---- bearer tokens (--auth token, docs/design.md §6) ------------------------------------------

// The Authorization header of a request made with `token`.
header_list bearer(std::string_view token);

// A user and its token, which the api shows once: in the 201 that created the user.
struct account {
  std::string id;
  std::string token;
};
// The 201 of POST /api/v1/users and the id asked for, for further checks of the answer.
using account_check = std::function<void(const http_response& created, const std::string& id)>;
// POST /api/v1/users with the admin token (201 required): a user of its own for the test, its id
// made from `prefix`; `check`, when given, looks further at the 201 first.
account create_account(http_client& http, std::string_view admin_token, std::string_view prefix,
                       const account_check& check = {});

// What a start sends: start_args{}.session("tv").request("r-1").
struct start_args {
  std::string video_id = std::string(video_1);
  std::string session_id;  // none when empty
  std::string request_id;  // none when empty
  bool wait_for_verdict = true;

  start_args& video(std::string id) {
    video_id = std::move(id);
    return *this;
  }
  start_args& session(std::string id) {
    session_id = std::move(id);
    return *this;
  }
  start_args& request(std::string id) {
    request_id = std::move(id);
    return *this;
  }
  start_args& no_wait() {
    wait_for_verdict = false;
    return *this;
  }
};
std::string start_body(const start_args& args);
http_response start(http_client& http, std::string_view user_id, const start_args& args);

// GET /api/v1/users/{id}/streams (200 required): the stream ids in the listed order.
std::vector<std::string> stream_ids(http_client& http, std::string_view user_id);

// GET /health on a new connection: its status, or 0 while nothing listens on `port` yet.
int health_status(unsigned short port);

// A media segment's path with its playback token.
std::string segment_path(std::string_view video, std::string_view token);
// GET /api/v1/playback/authorize for that segment, as an origin in front asks: "" when allowed
// (204), else the code of the 403's error.
std::string authorize(http_client& http, std::string_view video, std::string_view token);

// Shape checks of the contract's bodies.
void check_user_shape(const json::value& user);
void check_stream_shape(const json::value& stream);
void check_video_shape(const json::value& video);
// `response` is `status` with a JSON body {"error":{"code":code,"message":non-empty}}.
void check_error(const http_response& response, int status, std::string_view code);
// An allowed verdict body of the REST api (201 / GET /api/v1/requests/{id}).
void check_allowed_body(const json::value& body, std::string_view request_id, int active,
                        int limit);

}  // namespace streamgate::it

namespace streamgate::it {

// ---- WebSocket messages (docs/design.md §4) -------------------------------------------------

using message_predicate = std::function<bool(const json::value&)>;
message_predicate of_type(std::string type);
message_predicate verdict_of(std::string request_id);
message_predicate ended_of(std::string stream_id);

// Reads the first message, which must be the user's snapshot (REQUIREd), and returns it.
json::document read_snapshot(ws_client& ws, std::string_view user_id);
// Reads until the verdict of `request_id`; throws when it does not come in time.
json::document read_verdict(ws_client& ws, std::string_view request_id,
                            std::chrono::milliseconds timeout = 10s);
json::document read_ended(ws_client& ws, std::string_view stream_id,
                          std::chrono::milliseconds timeout = 10s);
// Reads until the error message about the start `request_id` (a start that was not decided).
json::document read_error_of(ws_client& ws, std::string_view request_id,
                             std::chrono::milliseconds timeout = 10s);
// Reads the next message that is not a snapshot.
json::document read_event(ws_client& ws, std::chrono::milliseconds timeout = 10s);

}  // namespace streamgate::it
