#include "helpers.hpp"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace streamgate::it {

std::string unique_id(std::string_view prefix) {
  static std::atomic<int> counter{0};
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

std::string user_path(std::string_view user_id) { return "/api/v1/users/" + std::string(user_id); }
std::string streams_path(std::string_view user_id) { return user_path(user_id) + "/streams"; }
std::string stream_path(std::string_view user_id, std::string_view stream_id) {
  return streams_path(user_id) + "/" + std::string(stream_id);
}
std::string heartbeat_path(std::string_view user_id, std::string_view stream_id) {
  return stream_path(user_id, stream_id) + "/heartbeat";
}

std::string create_user(http_client& http, std::optional<int> max_streams) {
  const std::string id = unique_id("user");
  const std::string body =
      max_streams ? json::object({{"id", id}, {"name", "Test " + id}, {"maxStreams", *max_streams}})
                  : json::object({{"id", id}, {"name", "Test " + id}});
  const auto r = http.post("/api/v1/users", body);
  INFO("POST /api/v1/users " << body << " -> " << r.describe());
  REQUIRE(r.status == 201);
  return id;
}

std::string file_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::int64_t wall_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double sample_value(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(series + " ", 0) == 0)
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  }
  return -1;
}

header_list bearer(std::string_view token) {
  return {{"Authorization", "Bearer " + std::string(token)}};
}

account create_account(http_client& http, std::string_view admin_token, std::string_view prefix,
                       const account_check& check) {
  const std::string id = unique_id(prefix);
  const auto r =
      http.request(http::verb::post, "/api/v1/users",
                   json::object({{"id", id}, {"name", "Test " + id}}), bearer(admin_token));
  INFO(r.describe());
  REQUIRE(r.status == 201);
  if (check) check(r, id);
  return {id, json::str(r.json(), "token")};
}

std::string start_body(const start_args& args) {
  std::string body = "{" + json::quote("videoId") + ":" + json::quote(args.video_id);
  if (!args.session_id.empty())
    body += "," + json::quote("sessionId") + ":" + json::quote(args.session_id);
  if (!args.request_id.empty())
    body += "," + json::quote("requestId") + ":" + json::quote(args.request_id);
  return body + "}";
}

http_response start(http_client& http, std::string_view user_id, const start_args& args) {
  return http.post(streams_path(user_id) + (args.wait_for_verdict ? "?wait=true" : ""),
                   start_body(args));
}

std::vector<std::string> stream_ids(http_client& http, std::string_view user_id) {
  const auto r = http.get(streams_path(user_id));
  INFO("GET " << streams_path(user_id) << " -> " << r.describe());
  REQUIRE(r.status == 200);
  const auto doc = r.json();
  REQUIRE(doc.IsArray());
  return json::strings_of(doc, "streamId");
}

int health_status(unsigned short port) {
  try {
    http_client probe(port, std::chrono::seconds(2));
    return probe.get("/health").status;
  } catch (const std::exception&) {
    return 0;  // not listening yet
  }
}

std::string segment_path(std::string_view video, std::string_view token) {
  return "/media/" + std::string(video) + "/seg00.ts?token=" + std::string(token);
}

std::string authorize(http_client& http, std::string_view video, std::string_view token) {
  const auto r = http.request(http::verb::get, "/api/v1/playback/authorize", {},
                              {{"X-Original-URI", segment_path(video, token)}});
  if (r.status == 204) return "";
  INFO(r.describe());
  REQUIRE((r.status == 403 || r.status == 503));  // 503: the api does not hear its worker
  return json::str(r.json()["error"], "code");
}

void check_user_shape(const json::value& user) {
  INFO("user: " << json::dump(user));
  CHECK(json::has_string(user, "id"));
  CHECK(json::has_string(user, "name"));
  CHECK(json::has_int(user, "maxStreams"));
  CHECK(json::has_string(user, "policy"));
  if (json::has_string(user, "policy")) {
    const auto p = json::str(user, "policy");
    CHECK((p == "deny" || p == "evict_oldest" || p == "monitor"));
  }
  CHECK(json::has_int(user, "activeStreams"));
}

void check_stream_shape(const json::value& stream) {
  INFO("stream: " << json::dump(stream));
  for (const char* key : {"streamId", "userId", "videoId", "sessionId", "startedAt", "expiresAt"})
    CHECK(json::has_string(stream, key));
  if (json::has_string(stream, "startedAt") && json::has_string(stream, "expiresAt")) {
    const auto started = json::parse_iso8601_ms(json::str(stream, "startedAt"));
    const auto expires = json::parse_iso8601_ms(json::str(stream, "expiresAt"));
    CHECK(started.has_value());
    CHECK(expires.has_value());
    if (started && expires) CHECK(*started < *expires);
  }
}

void check_video_shape(const json::value& video) {
  INFO("video: " << json::dump(video));
  CHECK(json::has_string(video, "id"));
  CHECK(json::has_string(video, "title"));
  CHECK(json::has_int(video, "durationSeconds"));
}

void check_error(const http_response& response, int status, std::string_view code) {
  INFO("response: " << response.describe());
  CHECK(response.status == status);
  CHECK(response.has_json_content_type());
  const auto doc = json::try_parse(response.body);
  REQUIRE(doc.has_value());
  REQUIRE(json::has_object(*doc, "error"));
  const auto& error = (*doc)["error"];
  CHECK(json::has_string(error, "code"));
  if (json::has_string(error, "code")) CHECK(json::str(error, "code") == code);
  CHECK(json::has_string(error, "message"));
  if (json::has_string(error, "message")) CHECK_FALSE(json::str(error, "message").empty());
}

void check_allowed_body(const json::value& body, std::string_view request_id, int active,
                        int limit) {
  INFO("verdict: " << json::dump(body));
  CHECK(json::has_string(body, "requestId"));
  if (json::has_string(body, "requestId") && !request_id.empty())
    CHECK(json::str(body, "requestId") == request_id);
  CHECK(json::has_string(body, "verdict"));
  if (json::has_string(body, "verdict")) CHECK(json::str(body, "verdict") == "allowed");
  CHECK(json::has_int(body, "active"));
  if (json::has_int(body, "active")) CHECK(json::integer(body, "active") == active);
  CHECK(json::has_int(body, "limit"));
  if (json::has_int(body, "limit")) CHECK(json::integer(body, "limit") == limit);
  REQUIRE(json::has_object(body, "stream"));
  check_stream_shape(body["stream"]);
}

message_predicate of_type(std::string type) {
  return [type = std::move(type)](const json::value& m) {
    return json::has_string(m, "type") && json::str(m, "type") == type;
  };
}

message_predicate verdict_of(std::string request_id) {
  return [request_id = std::move(request_id)](const json::value& m) {
    return json::has_string(m, "type") && json::str(m, "type") == "verdict" &&
           json::has_string(m, "requestId") && json::str(m, "requestId") == request_id;
  };
}

message_predicate ended_of(std::string stream_id) {
  return [stream_id = std::move(stream_id)](const json::value& m) {
    return json::has_string(m, "type") && json::str(m, "type") == "ended" &&
           json::has_string(m, "streamId") && json::str(m, "streamId") == stream_id;
  };
}

json::document read_snapshot(ws_client& ws, std::string_view user_id) {
  auto snapshot = ws.read_json();
  INFO("first message: " << json::dump(snapshot));
  REQUIRE(json::has_string(snapshot, "type"));
  REQUIRE(json::str(snapshot, "type") == "snapshot");
  CHECK(json::has_string(snapshot, "userId"));
  if (json::has_string(snapshot, "userId")) CHECK(json::str(snapshot, "userId") == user_id);
  CHECK(json::has_int(snapshot, "limit"));
  REQUIRE(json::has_array(snapshot, "streams"));
  for (const auto& s : snapshot["streams"].GetArray()) check_stream_shape(s);
  return snapshot;
}

json::document read_verdict(ws_client& ws, std::string_view request_id,
                            std::chrono::milliseconds timeout) {
  return ws.read_until(verdict_of(std::string(request_id)), timeout,
                       "the verdict of " + std::string(request_id));
}

json::document read_ended(ws_client& ws, std::string_view stream_id,
                          std::chrono::milliseconds timeout) {
  return ws.read_until(ended_of(std::string(stream_id)), timeout,
                       "the end of stream " + std::string(stream_id));
}

json::document read_error_of(ws_client& ws, std::string_view request_id,
                             std::chrono::milliseconds timeout) {
  return ws.read_until(
      [id = std::string(request_id)](const json::value& m) {
        return json::str(m, "type") == "error" && json::str(m, "requestId") == id;
      },
      timeout, "the error about " + std::string(request_id));
}

json::document read_event(ws_client& ws, std::chrono::milliseconds timeout) {
  return ws.read_until(
      [](const json::value& m) {
        return !(json::has_string(m, "type") && json::str(m, "type") == "snapshot");
      },
      timeout, "an event");
}

}  // namespace streamgate::it
