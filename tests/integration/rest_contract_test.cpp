// The REST routes of docs/design.md §3, one by one: status, JSON content type, body shape.

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

json::document read_catalog() {
  std::ifstream in(STREAMGATE_CATALOG);
  REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

bool contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

TEST_CASE("GET /health answers 200 with the api and the worker UP", "[integration][rest]") {
  stack s;
  http_client http(s.http_port());

  const auto r = http.get("/health");
  INFO(r.describe());
  REQUIRE(r.status == 200);
  CHECK(r.has_json_content_type());
  const auto body = r.json();
  CHECK(json::str(body, "status") == "UP");
  CHECK(json::str(body, "worker") == "UP");
}

TEST_CASE("the videos of the catalog are listed and found by id", "[integration][rest]") {
  stack s;
  http_client http(s.http_port());
  const auto catalog = read_catalog();
  const auto catalog_ids = json::strings_of(catalog["videos"], "id");
  REQUIRE_FALSE(catalog_ids.empty());

  SECTION("GET /api/v1/videos lists every video of the catalog with its shape") {
    const auto r = http.get("/api/v1/videos");
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto list = r.json();
    REQUIRE(list.IsArray());
    for (const auto& v : list.GetArray()) check_video_shape(v);
    auto listed = json::strings_of(list, "id");
    auto expected = catalog_ids;
    std::sort(listed.begin(), listed.end());
    std::sort(expected.begin(), expected.end());
    CHECK(listed == expected);
  }
  SECTION("GET /api/v1/videos/{id} returns that video as in the catalog") {
    const auto& first = catalog["videos"][0];
    const auto r = http.get("/api/v1/videos/" + json::str(first, "id"));
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto v = r.json();
    check_video_shape(v);
    CHECK(json::str(v, "id") == json::str(first, "id"));
    CHECK(json::str(v, "title") == json::str(first, "title"));
    CHECK(json::integer(v, "durationSeconds") == json::integer(first, "durationSeconds"));
  }
  SECTION("GET /api/v1/videos/{id} of an unknown video is 404 not_found") {
    check_error(http.get("/api/v1/videos/no-such-video"), 404, "not_found");
  }
}

TEST_CASE("users are created, read, renamed and limited through the REST api",
          "[integration][rest]") {
  stack s;
  http_client http(s.http_port());
  const std::string id = unique_id("user");

  const auto created = http.post(
      "/api/v1/users", json::object({{"id", id}, {"name", "Zoë Tester"}, {"maxStreams", 2}}));
  INFO("create: " << created.describe());
  REQUIRE(created.status == 201);
  CHECK(created.has_json_content_type());
  {
    const auto u = created.json();
    check_user_shape(u);
    CHECK(json::str(u, "id") == id);
    CHECK(json::str(u, "name") == "Zoë Tester");
    CHECK(json::integer(u, "maxStreams") == 2);
    CHECK(json::str(u, "policy") == "deny");
    CHECK(json::integer(u, "activeStreams") == 0);
  }

  SECTION("GET /api/v1/users/{id} returns the user with its active stream count") {
    const auto r = http.get(user_path(id));
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto u = r.json();
    check_user_shape(u);
    CHECK(json::str(u, "id") == id);
    CHECK(json::str(u, "name") == "Zoë Tester");
    CHECK(json::integer(u, "maxStreams") == 2);
    CHECK(json::integer(u, "activeStreams") == 0);

    REQUIRE(start(http, id, start_args{}.session("s1")).status == 201);
    const auto after = http.get(user_path(id));
    INFO(after.describe());
    REQUIRE(after.status == 200);
    CHECK(json::integer(after.json(), "activeStreams") == 1);
  }
  SECTION("a second user with the same id is refused with 409 conflict") {
    const auto again = http.post("/api/v1/users", json::object({{"id", id}, {"name", "Other"}}));
    check_error(again, 409, "conflict");
    const auto r = http.get(user_path(id));
    REQUIRE(r.status == 200);
    CHECK(json::str(r.json(), "name") == "Zoë Tester");
  }
  SECTION("PATCH renames the user and sets maxStreams") {
    const auto r =
        http.patch(user_path(id), json::object({{"name", "Renamed Person"}, {"maxStreams", 4}}));
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto u = r.json();
    check_user_shape(u);
    CHECK(json::str(u, "id") == id);
    CHECK(json::str(u, "name") == "Renamed Person");
    CHECK(json::integer(u, "maxStreams") == 4);

    const auto read = http.get(user_path(id));
    REQUIRE(read.status == 200);
    CHECK(json::str(read.json(), "name") == "Renamed Person");
    CHECK(json::integer(read.json(), "maxStreams") == 4);
  }
  SECTION("PATCH of only the name keeps maxStreams") {
    const auto r = http.patch(user_path(id), json::object({{"name", "Only Renamed"}}));
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(json::str(r.json(), "name") == "Only Renamed");
    CHECK(json::integer(r.json(), "maxStreams") == 2);
  }
  SECTION("the new maxStreams is the limit of the next start") {
    REQUIRE(http.patch(user_path(id), json::object({{"maxStreams", 1}})).status == 200);
    REQUIRE(start(http, id, start_args{}.session("a")).status == 201);
    const auto denied = start(http, id, start_args{}.session("b"));
    INFO(denied.describe());
    REQUIRE(denied.status == 429);
    CHECK(json::integer(denied.json(), "limit") == 1);
    CHECK(json::integer(denied.json(), "active") == 1);
  }
  SECTION("GET and PATCH of an unknown user are 404 not_found") {
    check_error(http.get(user_path("nobody-" + id)), 404, "not_found");
    check_error(http.patch(user_path("nobody-" + id), json::object({{"name", "X"}})), 404,
                "not_found");
  }
}

TEST_CASE("a user created without an id gets one and the default limit", "[integration][rest]") {
  stack s;
  http_client http(s.http_port());

  const auto r = http.post("/api/v1/users", json::object({{"name", "No Id Given"}}));
  INFO(r.describe());
  REQUIRE(r.status == 201);
  const auto u = r.json();
  check_user_shape(u);
  const auto id = json::str(u, "id");
  CHECK_FALSE(id.empty());
  CHECK(id.size() <= 64);
  CHECK(std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  }));
  CHECK(json::integer(u, "maxStreams") == default_limit);
  CHECK(http.get(user_path(id)).status == 200);
}

TEST_CASE("GET /api/v1/users filters by a case-insensitive substring of the name",
          "[integration][rest]") {
  stack s;
  http_client http(s.http_port());
  const std::string token = "qx" + std::to_string(::getpid());
  const std::string ann = unique_id("ann");
  const std::string bert = unique_id("bert");
  REQUIRE(
      http.post("/api/v1/users", json::object({{"id", ann}, {"name", "Ann " + token + "Mixed"}}))
          .status == 201);
  REQUIRE(http.post("/api/v1/users", json::object({{"id", bert}, {"name", "Bert Other"}})).status ==
          201);

  SECTION("without a filter every user is listed, the demo users included") {
    const auto r = http.get("/api/v1/users");
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto list = r.json();
    REQUIRE(list.IsArray());
    for (const auto& u : list.GetArray()) check_user_shape(u);
    const auto ids = json::strings_of(list, "id");
    CHECK(contains(ids, ann));
    CHECK(contains(ids, bert));
    const auto catalog = read_catalog();
    for (const auto& demo : json::strings_of(catalog["users"], "id")) {
      CAPTURE(demo);
      CHECK(contains(ids, demo));
    }
  }
  SECTION("an upper-case part of the name finds the user, and only the matching ones") {
    std::string query = token + "MIXED";
    std::transform(query.begin(), query.end(), query.begin(),
                   [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    const auto r = http.get("/api/v1/users?name=" + query);
    INFO(r.describe());
    REQUIRE(r.status == 200);
    const auto ids = json::strings_of(r.json(), "id");
    CHECK(ids == std::vector<std::string>{ann});
  }
  SECTION("a name that matches nobody gives an empty list") {
    const auto r = http.get("/api/v1/users?name=zz-nobody-" + token);
    INFO(r.describe());
    REQUIRE(r.status == 200);
    const auto list = r.json();
    REQUIRE(list.IsArray());
    CHECK(list.Empty());
  }
}

TEST_CASE("a start without wait is accepted as pending and decided later", "[integration][rest]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);

  const auto r = start(http, user, start_args{}.session("s1").request("req-pending-1").no_wait());
  INFO(r.describe());
  REQUIRE(r.status == 202);
  CHECK(r.has_json_content_type());
  const auto body = r.json();
  CHECK(json::str(body, "requestId") == "req-pending-1");
  CHECK(json::str(body, "status") == "pending");

  // The verdict goes to the WebSockets; a client that missed it asks for it.
  http_response verdict;
  REQUIRE(wait_until(
      [&] {
        verdict = http.get("/api/v1/requests/req-pending-1");
        return verdict.status != 200 || !json::has(verdict.json(), "status");
      },
      10s));
  INFO(verdict.describe());
  REQUIRE(verdict.status == 200);
  CHECK(verdict.has_json_content_type());
  check_allowed_body(verdict.json(), "req-pending-1", 1, default_limit);
  CHECK(stream_ids(http, user) ==
        std::vector<std::string>{json::str(verdict.json()["stream"], "streamId")});
}

TEST_CASE("a start without a requestId gets one assigned", "[integration][rest]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);

  SECTION("without wait") {
    const auto r = start(http, user, start_args{}.no_wait());
    INFO(r.describe());
    REQUIRE(r.status == 202);
    const auto id = json::str(r.json(), "requestId");
    CHECK_FALSE(id.empty());
    REQUIRE(wait_until([&] { return stream_ids(http, user).size() == 1; }, 10s));
    const auto v = http.get("/api/v1/requests/" + id);
    INFO(v.describe());
    CHECK(v.status == 200);
  }
  SECTION("with wait") {
    const auto r = start(http, user, start_args{});
    INFO(r.describe());
    REQUIRE(r.status == 201);
    const auto id = json::str(r.json(), "requestId");
    CHECK_FALSE(id.empty());
    check_allowed_body(r.json(), id, 1, default_limit);
  }
}

TEST_CASE("the streams of a user are listed, heart-beaten and stopped", "[integration][rest]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);

  SECTION("a user without streams has an empty list") {
    const auto r = http.get(streams_path(user));
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto list = r.json();
    REQUIRE(list.IsArray());
    CHECK(list.Empty());
  }

  const auto started = start(
      http, user, start_args{}.video(std::string(video_2)).session("tv-1").request("req-list-1"));
  INFO("start: " << started.describe());
  REQUIRE(started.status == 201);
  CHECK(started.has_json_content_type());
  check_allowed_body(started.json(), "req-list-1", 1, default_limit);
  const auto started_body = started.json();
  const auto& stream = started_body["stream"];
  const auto stream_id = json::str(stream, "streamId");
  CHECK(json::str(stream, "userId") == user);
  CHECK(json::str(stream, "videoId") == video_2);
  CHECK(json::str(stream, "sessionId") == "tv-1");

  SECTION("GET lists the stream as it was granted") {
    const auto r = http.get(streams_path(user));
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto list = r.json();
    REQUIRE(list.IsArray());
    REQUIRE(list.Size() == 1);
    check_stream_shape(list[0]);
    CHECK(json::str(list[0], "streamId") == stream_id);
    CHECK(json::str(list[0], "userId") == user);
    CHECK(json::str(list[0], "videoId") == video_2);
    CHECK(json::str(list[0], "sessionId") == "tv-1");
    CHECK(json::str(list[0], "startedAt") == json::str(stream, "startedAt"));
  }
  SECTION("a heartbeat answers 200 with an expiresAt that does not go back") {
    const auto before = json::parse_iso8601_ms(json::str(stream, "expiresAt"));
    const auto r = http.post(heartbeat_path(user, stream_id), "");
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto body = r.json();
    REQUIRE(json::has_string(body, "expiresAt"));
    const auto after = json::parse_iso8601_ms(json::str(body, "expiresAt"));
    REQUIRE(before.has_value());
    REQUIRE(after.has_value());
    CHECK(*after >= *before);
  }
  SECTION("DELETE of the stream answers 204, the list is empty, a second DELETE is 404") {
    const auto r = http.del(stream_path(user, stream_id));
    INFO(r.describe());
    CHECK(r.status == 204);
    CHECK(r.body.empty());
    CHECK(stream_ids(http, user).empty());
    check_error(http.del(stream_path(user, stream_id)), 404, "not_found");
    check_error(http.post(heartbeat_path(user, stream_id), ""), 404, "not_found");
  }
  SECTION("DELETE of all streams answers 204 and the list is empty") {
    REQUIRE(start(http, user, start_args{}.session("tv-2")).status == 201);
    const auto r = http.del(streams_path(user));
    INFO(r.describe());
    CHECK(r.status == 204);
    CHECK(stream_ids(http, user).empty());
  }
  SECTION("heartbeat and DELETE of an unknown stream are 404 not_found") {
    check_error(http.post(heartbeat_path(user, "no-such-stream"), ""), 404, "not_found");
    check_error(http.del(stream_path(user, "no-such-stream")), 404, "not_found");
  }
  SECTION("another user cannot heartbeat or stop this user's stream") {
    const auto other = create_user(http);
    check_error(http.post(heartbeat_path(other, stream_id), ""), 404, "not_found");
    check_error(http.del(stream_path(other, stream_id)), 404, "not_found");
    CHECK(stream_ids(http, user) == std::vector<std::string>{stream_id});
  }
}

TEST_CASE("streams of unknown users and videos and unknown requests are 404",
          "[integration][rest]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);

  SECTION("GET the streams of an unknown user") {
    check_error(http.get(streams_path("nobody-" + user)), 404, "not_found");
  }
  SECTION("a start for an unknown user, with wait") {
    check_error(start(http, "nobody-" + user, {}), 404, "not_found");
  }
  SECTION("a start of an unknown video, with wait") {
    check_error(start(http, user, start_args{}.video("no-such-video")), 404, "not_found");
    CHECK(stream_ids(http, user).empty());
  }
  SECTION("a retry of a start of an unknown video, its requestId now with a known video") {
    const std::string request_id = unique_id("rq-unknown-video");
    check_error(start(http, user, start_args{}.video("no-such-video").request(request_id)), 404,
                "not_found");
    // The retry is answered the first decision again, about the video that decision was on.
    const auto retried = start(http, user, start_args{}.request(request_id));
    check_error(retried, 404, "not_found");
    CHECK(json::str(retried.json()["error"], "message") == "unknown video 'no-such-video'");
    CHECK(stream_ids(http, user).empty());
  }
  SECTION("DELETE all streams of an unknown user") {
    check_error(http.del(streams_path("nobody-" + user)), 404, "not_found");
  }
  SECTION("GET an unknown request id") {
    check_error(http.get("/api/v1/requests/no-such-request"), 404, "not_found");
  }
}

TEST_CASE("the OpenAPI document, its page and the metrics are served", "[integration][rest]") {
  stack s;
  http_client http(s.http_port());

  SECTION("GET /openapi.json is an OpenAPI 3 document") {
    const auto r = http.get("/openapi.json");
    INFO(r.describe().substr(0, 300));
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto doc = r.json();
    REQUIRE(json::has_string(doc, "openapi"));
    CHECK(json::str(doc, "openapi").starts_with("3."));
    CHECK(json::has_object(doc, "paths"));
  }
  SECTION("GET /docs is an HTML page") {
    const auto r = http.get("/docs");
    INFO(r.describe().substr(0, 300));
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type").starts_with("text/html"));
  }
  SECTION("GET /metrics is Prometheus text") {
    const auto r = http.get("/metrics");
    INFO(r.describe().substr(0, 300));
    REQUIRE(r.status == 200);
    CHECK(r.header("Content-Type").starts_with("text/plain"));
    CHECK(r.body.find("# TYPE") != std::string::npos);
  }
}
