// Hardening (a black-box probe): one user's flood of starts, denials included, was decided,
// remembered and written by a worker each. Each api lets a user's starts through at
// --start-rate after a --start-burst; the rest get 429 rate_limited with Retry-After, are
// counted in /metrics, and never reach a worker (the user's audit trail shows none of them).

#include <catch2/catch.hpp>
#include <string>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"
#include "ws_client.hpp"

using namespace streamgate::it;

TEST_CASE("a user's starts past the burst get 429 rate_limited and reach no worker",
          "[integration][rate_limit]") {
  stack s(stack_options{}.api_args({"--start-burst", "3", "--start-rate", "1"}));
  http_client http(s.http_port());
  const auto user = create_user(http, 100);
  const auto other = create_user(http, 100);

  for (int i = 0; i < 3; ++i)
    REQUIRE(start(http, user, start_args{}.session("dev-" + std::to_string(i))).status == 201);
  const auto refused = start(http, user, start_args{}.session("dev-flood").request("flood-1"));
  INFO(refused.describe());
  check_error(refused, 429, "rate_limited");
  CHECK(std::stoi(refused.header("Retry-After")) >= 1);
  // Another user is not held back by this one.
  CHECK(start(http, other, start_args{}.session("dev-0")).status == 201);

  // Over the WebSocket too, answered with the start's requestId.
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);
  ws.send_json(json::object({{"type", "start"}, {"videoId", std::string(video_1)},
                             {"sessionId", "ws-flood"}, {"requestId", "flood-2"}}));
  const auto error = ws.read_until(of_type("error"), 10s, "the rate limit's error");
  INFO(json::dump(error));
  CHECK(json::str(error["error"], "code") == "rate_limited");
  CHECK(json::str(error, "requestId") == "flood-2");

  // Neither refused start was decided: no worker heard of them.
  CHECK(http.get("/api/v1/requests/flood-1").status == 404);
  CHECK(http.get("/api/v1/requests/flood-2").status == 404);
  const auto audit = http.get(user_path(user) + "/events");
  REQUIRE(audit.status == 200);
  CHECK(audit.body.find("dev-flood") == std::string::npos);
  CHECK(json::strings_of(audit.json(), "type") ==
        std::vector<std::string>{"allowed", "allowed", "allowed"});
  CHECK(http.get("/metrics").body.find("streamgate_starts_rate_limited_total 2") !=
        std::string::npos);

  // At one start a second, the next one goes through soon.
  CHECK(wait_until(
      [&] { return start(http, user, start_args{}.session("dev-later")).status == 201; }, 10s,
      250ms));
}
