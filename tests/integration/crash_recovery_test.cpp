// Crashes and restarts (docs/design.md §1, §5, §7): a verdict once sent is never lost, the
// worker decides nothing twice, and clients of a restarted api get a snapshot again.

#include <algorithm>
#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// GET of the user's streams, retried while the api answers 503 (the worker coming back).
std::vector<std::string> stream_ids_when_available(http_client& http, const std::string& user) {
  http_response r;
  const bool answered = wait_until(
      [&] {
        r = http.get(streams_path(user));
        return r.status != 503;
      },
      20s);
  INFO(r.describe());
  REQUIRE(answered);
  REQUIRE(r.status == 200);
  return json::strings_of(r.json(), "streamId");
}

}  // namespace

TEST_CASE("after kill -9 of the worker and a restart the live streams are all still there",
          "[integration][crash]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  std::vector<std::string> granted;
  for (int i = 1; i <= 3; ++i) {
    const auto r = start(
        http, user,
        start_args{}.session("dev-" + std::to_string(i)).request("crash-req-" + std::to_string(i)));
    INFO(r.describe());
    REQUIRE(r.status == 201);
    granted.push_back(json::str(r.json()["stream"], "streamId"));
  }

  s.kill9_worker();
  REQUIRE_FALSE(s.worker_running());
  s.start_worker();
  s.wait_healthy();

  CHECK(sorted(stream_ids_when_available(http, user)) == sorted(granted));

  const auto fourth = start(http, user, start_args{}.session("dev-4").request("crash-req-4"));
  INFO("fourth: " << fourth.describe());
  CHECK(fourth.status == 429);

  // The requestIds decided before the crash are remembered: a retry is not a new decision.
  const auto replay = start(http, user, start_args{}.session("dev-1").request("crash-req-1"));
  INFO("replay: " << replay.describe());
  REQUIRE(replay.status == 201);
  CHECK(json::str(replay.json()["stream"], "streamId") == granted[0]);
  const auto verdict = http.get("/api/v1/requests/crash-req-2");
  INFO("verdict: " << verdict.describe());
  REQUIRE(verdict.status == 200);
  CHECK(json::str(verdict.json()["stream"], "streamId") == granted[1]);

  // Users created before the crash are there too.
  CHECK(http.get(user_path(user)).status == 200);
  CHECK(sorted(stream_ids(http, user)) == sorted(granted));
}

TEST_CASE("a stop acknowledged before kill -9 of the worker stays stopped",
          "[integration][crash]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  std::vector<std::string> granted;
  for (int i = 1; i <= 3; ++i) {
    const auto r = start(http, user, start_args{}.session("dev-" + std::to_string(i)));
    REQUIRE(r.status == 201);
    granted.push_back(json::str(r.json()["stream"], "streamId"));
  }
  REQUIRE(http.del(stream_path(user, granted[0])).status == 204);
  const auto renamed =
      http.patch(user_path(user), json::object({{"name", "Renamed Before Crash"}}));
  REQUIRE(renamed.status == 200);

  s.kill9_worker();
  s.start_worker();
  s.wait_healthy();

  CHECK(sorted(stream_ids_when_available(http, user)) == sorted({granted[1], granted[2]}));
  const auto u = http.get(user_path(user));
  REQUIRE(u.status == 200);
  CHECK(json::str(u.json(), "name") == "Renamed Before Crash");
}

TEST_CASE("after a restart of the api a reconnecting WebSocket gets a snapshot",
          "[integration][crash]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  std::vector<std::string> granted;
  for (int i = 1; i <= 2; ++i) {
    const auto r = start(http, user, start_args{}.session("dev-" + std::to_string(i)));
    REQUIRE(r.status == 201);
    granted.push_back(json::str(r.json()["stream"], "streamId"));
  }
  auto ws = std::make_unique<ws_client>(s.http_port(), ws_client::target_for(user));
  read_snapshot(*ws, user);

  s.kill9_api();
  REQUIRE(ws->wait_closed(10s));
  s.start_api();
  s.wait_healthy();

  ws = std::make_unique<ws_client>(s.http_port(), ws_client::target_for(user));
  const auto snapshot = read_snapshot(*ws, user);
  CHECK(sorted(json::strings_of(snapshot["streams"], "streamId")) == sorted(granted));
  // And the pushes flow again through the new api.
  REQUIRE(start(http, user, start_args{}.session("dev-3").request("after-api-restart")).status ==
          201);
  CHECK(json::str(read_verdict(*ws, "after-api-restart"), "verdict") == "allowed");
}

TEST_CASE("SIGTERM stops both programs cleanly and nothing is lost", "[integration][crash]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  const auto r = start(http, user, start_args{}.session("dev-1"));
  REQUIRE(r.status == 201);
  const auto stream_id = json::str(r.json()["stream"], "streamId");

  s.stop_api();
  CHECK(s.api_exit() == "exited with 0");
  s.stop_worker();
  CHECK(s.worker_exit() == "exited with 0");

  s.start_worker();
  s.start_api();
  s.wait_healthy();
  CHECK(stream_ids_when_available(http, user) == std::vector<std::string>{stream_id});
}
