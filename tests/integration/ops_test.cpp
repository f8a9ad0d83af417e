// What operators and integrators expect of a running api: the OpenAPI document and its /docs
// page, Prometheus metrics that move with the traffic, a durable audit trail per user, and the
// evict_oldest policy seen from a user's WebSocket.

#include <catch2/catch.hpp>
#include <cstdlib>
#include <sstream>
#include <string>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

std::string scrape(http_client& http) {
  const auto r = http.get("/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").rfind("text/plain", 0) == 0);
  return r.body;
}

std::string events_path(std::string_view user_id) { return user_path(user_id) + "/events"; }

std::string create_user_with(http_client& http, const std::string& body) {
  const auto r = http.post("/api/v1/users", body);
  INFO(r.describe());
  REQUIRE(r.status == 201);
  return json::str(r.json(), "id");
}

}  // namespace

TEST_CASE("the api serves its OpenAPI document and a /docs page that works offline",
          "[integration][ops]") {
  stack s;
  http_client http(s.http_port());

  const auto spec = http.get("/openapi.json");
  REQUIRE(spec.status == 200);
  CHECK(spec.has_json_content_type());
  const auto doc = spec.json();
  CHECK(json::str(doc, "openapi").rfind("3.", 0) == 0);
  CHECK(json::has_object(json::member(doc, "paths"), "/api/v1/users/{id}/events"));

  const auto page = http.get("/docs");
  REQUIRE(page.status == 200);
  CHECK(page.header("Content-Type").rfind("text/html", 0) == 0);
  CHECK(page.body.find("/docs/assets/swagger-ui-bundle.js") != std::string::npos);

  for (const char* asset : {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"}) {
    CAPTURE(asset);
    const auto r = http.get(asset);
    CHECK(r.status == 200);
    CHECK(!r.body.empty());
  }
  CHECK(http.get("/docs/assets/../../etc/passwd").status == 404);
  CHECK(http.get("/docs/assets/nothing-here.js").status == 404);
}

TEST_CASE("/metrics counts requests and verdicts as starts come in", "[integration][ops]") {
  stack s;
  http_client http(s.http_port());
  const std::string before = scrape(http);
  CHECK(sample_value(before, "streamgate_worker_up") == 1);
  const double allowed0 =
      sample_value(before, R"(streamgate_worker_decisions_total{outcome="allowed"})");
  const double denied0 =
      sample_value(before, R"(streamgate_worker_decisions_total{outcome="denied"})");
  const double near0 = sample_value(before, "streamgate_worker_starts_near_limit_total");
  REQUIRE(near0 >= 0);
  REQUIRE(allowed0 >= 0);
  REQUIRE(denied0 >= 0);
  // The worker's group commits, relayed from its stats (pings and scrapes are not counted).
  const double batches0 = sample_value(before, "streamgate_worker_batch_size_count");
  const double decided0 = sample_value(before, "streamgate_worker_batch_size_sum");
  REQUIRE(batches0 >= 0);
  REQUIRE(decided0 >= 0);

  const auto user = create_user(http, 2);
  for (int i = 0; i < 3; ++i) {
    const auto r = start(http, user, start_args{}.session("dev-" + std::to_string(i)));
    INFO(r.describe());
    REQUIRE(r.status == (i < 2 ? 201 : 429));
  }

  // Counted by the worker when it committed them, so before it answered the starts; one stack
  // has one worker, so every scrape sees its counts.
  const std::string after = scrape(http);
  CHECK(sample_value(after, R"(streamgate_worker_decisions_total{outcome="allowed"})") ==
        allowed0 + 2);
  CHECK(sample_value(after, R"(streamgate_worker_decisions_total{outcome="denied"})") ==
        denied0 + 1);
  INFO(after);
  CHECK(sample_value(
            after,
            R"(streamgate_http_requests_total{route="/api/v1/users/{id}/streams",status="201"})") >=
        2);
  CHECK(sample_value(
            after,
            R"(streamgate_http_requests_total{route="/api/v1/users/{id}/streams",status="429"})") >=
        1);
  CHECK(sample_value(after, "streamgate_verdict_latency_seconds_count") >= 3);
  // Each left the user at one below its limit of 2 or more: 1 of 2, 2 of 2, refused at 2.
  CHECK(sample_value(after, "streamgate_worker_starts_near_limit_total") == near0 + 3);
  CHECK(sample_value(after, "streamgate_websocket_connections") == 0);
  CHECK(sample_value(after, "streamgate_zmq_retries_total") >= 0);
  CHECK(sample_value(after, "streamgate_zmq_dropped_total") >= 0);
  CHECK(sample_value(after, "streamgate_pending_calls") >= 0);
  CHECK(sample_value(after, R"(streamgate_worker_decisions_total{outcome="expired"})") >= 0);
  // A create and three starts, one request at a time: at least one batch and four requests more.
  const double batches = sample_value(after, "streamgate_worker_batch_size_count");
  CHECK(batches >= batches0 + 1);
  CHECK(sample_value(after, "streamgate_worker_batch_size_sum") >= decided0 + 4);
  CHECK(sample_value(after, R"(streamgate_worker_batch_size_bucket{le="+Inf"})") == batches);
  CHECK(sample_value(after, R"(streamgate_worker_batch_size_bucket{le="512"})") <= batches);
  CHECK(sample_value(after, R"(streamgate_worker_batch_size_bucket{le="1"})") >= 1);
  // Each of those batches was timed once, from its load to its durable commit.
  CHECK(sample_value(after, "streamgate_worker_batch_seconds_count") == batches);
  CHECK(sample_value(after, R"(streamgate_worker_batch_seconds_bucket{le="+Inf"})") == batches);
  CHECK(sample_value(after, "streamgate_worker_batch_seconds_sum") > 0);
  CHECK(sample_value(after, "streamgate_worker_background_step_seconds_count") >= 0);

  // Two live streams (a start with a live session takes no slot), then one stopped: the
  // store's count, which on Redis trails by a batch.
  const auto first = start(http, user, start_args{}.session("dev-0"));
  REQUIRE(first.status == 201);
  CHECK(wait_until([&] { return sample_value(scrape(http), "streamgate_active_streams") == 2; },
                   10s));
  const std::string stream_id = json::str(json::member(first.json(), "stream"), "streamId");
  REQUIRE(http.del(stream_path(user, stream_id)).status == 204);
  CHECK(wait_until([&] { return sample_value(scrape(http), "streamgate_active_streams") == 1; },
                   10s));
}

TEST_CASE("a user's decisions are audited durably, newest first", "[integration][ops][audit]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http, 1);

  const auto first = start(http, user, start_args{}.session("tv").request("aud-1"));
  REQUIRE(first.status == 201);
  const std::string stream_id = json::str(first.json()["stream"], "streamId");
  REQUIRE(start(http, user, start_args{}.session("phone").request("aud-2")).status == 429);
  REQUIRE(http.del(stream_path(user, stream_id)).status == 204);

  // A restart of the worker reloads nothing of it: the trail is on disk.
  s.stop_worker();
  s.start_worker();
  http_response r;
  REQUIRE(wait_until(
      [&] {
        r = http.get(events_path(user));
        return r.status != 503;
      },
      20s));
  INFO(r.describe());
  REQUIRE(r.status == 200);
  const auto events = r.json();
  REQUIRE(events.IsArray());
  REQUIRE(events.Size() == 3);
  CHECK(json::str(events[0], "type") == "stopped");
  CHECK(json::str(events[0], "streamId") == stream_id);
  CHECK(json::str(events[1], "type") == "denied");
  CHECK(json::str(events[1], "requestId") == "aud-2");
  CHECK(json::str(events[1], "reason") == "limit_reached");
  CHECK(json::str(events[1], "videoId") == video_1);
  CHECK(json::str(events[2], "type") == "allowed");
  CHECK(json::str(events[2], "requestId") == "aud-1");
  CHECK(json::str(events[2], "streamId") == stream_id);
  for (const auto& e : events.GetArray()) CHECK(json::is_iso8601(json::str(e, "at")));

  const auto limited = http.get(events_path(user) + "?limit=1");
  REQUIRE(limited.status == 200);
  CHECK(limited.json().Size() == 1);

  for (const char* bad : {"0", "1001", "abc", "", "-1"}) {
    CAPTURE(bad);
    const auto b = http.get(events_path(user) + "?limit=" + bad);
    check_error(b, 400, "bad_request");
    CHECK(b.body.find("limit") != std::string::npos);
  }
  check_error(http.get(events_path("nobody-" + unique_id("x"))), 404, "not_found");
}

TEST_CASE("evict_oldest ends the oldest stream with reason evicted on the user's WebSocket",
          "[integration][ops][policy]") {
  stack s;
  http_client http(s.http_port());
  const auto user =
      create_user_with(http, R"({"id":")" + unique_id("ev") +
                                 R"(","name":"Evictee","maxStreams":2,"policy":"evict_oldest"})");
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    const auto r = start(http, user, start_args{}.session("dev-" + std::to_string(i)));
    INFO(r.describe());
    REQUIRE(r.status == 201);
    ids.push_back(json::str(r.json()["stream"], "streamId"));
  }
  const auto ended = read_ended(ws, ids[0]);
  CHECK(json::str(ended, "reason") == "evicted");
  CHECK(json::str(ended, "userId") == user);
  CHECK(stream_ids(http, user) == std::vector<std::string>{ids[1], ids[2]});
}

TEST_CASE("lowering maxStreams keeps running streams but denies the next start",
          "[integration][ops][policy]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http, 3);
  for (int i = 0; i < 3; ++i)
    REQUIRE(start(http, user, start_args{}.session("dev-" + std::to_string(i))).status == 201);

  const auto patched = http.patch(user_path(user), R"({"maxStreams":2})");
  INFO(patched.describe());
  REQUIRE(patched.status == 200);
  CHECK(json::integer(patched.json(), "maxStreams") == 2);
  CHECK(stream_ids(http, user).size() == 3);

  const auto denied = start(http, user, start_args{}.session("dev-new"));
  INFO(denied.describe());
  CHECK(denied.status == 429);
  CHECK(stream_ids(http, user).size() == 3);
}
