#include "api/http/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "api/http/status_map.hpp"
#include "api/routes/api_routes.hpp"
#include "api/services.hpp"
#include "api/websocket/ws_registry.hpp"
#include "api/worker_link/worker_client.hpp"

// A namespace of its own: the unity build may put this file beside another with a fake_worker.
namespace streamgate::router_test {
namespace {

using namespace std::chrono_literals;
using http::status;
using http::verb;

// Answers every call with `reply` and records what handlers asked for.
class fake_worker final : public worker_client {
 public:
  asio::awaitable<std::optional<worker_reply>> call(request_body body,
                                                    std::chrono::milliseconds) override {
    calls.push_back(std::move(body));
    co_return reply;
  }
  bool send_only(request_body body) override {
    sent.push_back(std::move(body));
    return true;
  }
  bool worker_up() const override { return up; }
  bool in_flight(std::string_view request_id) const override {
    return pending.count(std::string(request_id)) != 0;
  }

  std::optional<worker_reply> reply;
  bool up = true;
  std::set<std::string> pending;
  std::vector<request_body> calls;
  std::vector<request_body> sent;
};

struct api_fixture {
  fake_worker worker;
  ws_registry sockets;
  router routes = make_api_router();
  api_services services{worker, sockets, routes, 2000ms, "/nonexistent-web-root"};

  http_response send(verb method, std::string target, std::string body = {}) {
    http_request request{method, target, 11};
    request.body() = std::move(body);
    request.prepare_payload();
    asio::io_context ioc;
    std::optional<http_response> response;
    asio::co_spawn(ioc, routes.dispatch(request, services),
                   [&](std::exception_ptr e, http_response r) {
                     if (e) std::rethrow_exception(e);
                     response = std::move(r);
                   });
    ioc.run();
    REQUIRE(response);
    return std::move(*response);
  }
};

TEST_CASE("every outcome and error code has its HTTP status", "[api][status_map]") {
  using row = std::tuple<outcome, status>;
  const auto [o, expected] = GENERATE(table<outcome, status>({
      row{outcome::ok, status::ok},
      row{outcome::created, status::created},
      row{outcome::no_content, status::no_content},
      row{outcome::allowed, status::created},
      row{outcome::denied, status::too_many_requests},
      row{outcome::bad_request, status::bad_request},
      row{outcome::not_found, status::not_found},
      row{outcome::conflict, status::conflict},
      row{outcome::unavailable, status::service_unavailable},
      row{outcome::internal, status::internal_server_error},
  }));
  CAPTURE(to_string(o));
  CHECK(status_of(o) == expected);

  CHECK(status_of(error_code::forbidden) == status::forbidden);
  CHECK(status_of(error_code::unauthorized) == status::unauthorized);
  CHECK(status_of(error_code::payload_too_large) == status::payload_too_large);
  CHECK(status_of(error_code::header_too_large) == status::request_header_fields_too_large);
  CHECK(status_of(error_code::method_not_allowed) == status::method_not_allowed);
  CHECK(status_of(error_code::unavailable) == status::service_unavailable);
  CHECK(status_of(error_code::upgrade_required) == status::upgrade_required);
}

TEST_CASE("routes match by method and path and capture their parameters", "[api][router]") {
  const router routes = make_api_router();

  SECTION("a parameterised path") {
    const route_match m = routes.match(verb::post, "/api/v1/users/alice/streams/s1/heartbeat");
    REQUIRE(m.found);
    CHECK(m.found->pattern == "/api/v1/users/{id}/streams/{streamId}/heartbeat");
    REQUIRE(m.param_count == 2);
    CHECK(m.params[0].name == "id");
    CHECK(m.params[0].value == "alice");
    CHECK(m.params[1].name == "streamId");
    CHECK(m.params[1].value == "s1");
  }
  SECTION("a known path with another method lists the allowed ones") {
    const route_match m = routes.match(verb::put, "/api/v1/users/alice/streams");
    CHECK_FALSE(m.found);
    CHECK(m.allow == "GET, HEAD, POST, DELETE");
  }
  SECTION("an unknown path matches nothing") {
    const route_match m = routes.match(verb::get, "/api/v2/users");
    CHECK_FALSE(m.found);
    CHECK(m.allow.empty());
  }
  SECTION("every route's pattern is unique per method") {
    std::set<std::pair<verb, std::string_view>> seen;
    for (const route& r : routes.routes()) CHECK(seen.insert({r.method, r.pattern}).second);
  }
}

TEST_CASE("the router answers bad paths and methods itself", "[api][router]") {
  api_fixture api;

  SECTION("a path parameter that is not an id is a 400 naming it") {
    const http_response res = api.send(verb::get, "/api/v1/users/al%20ice");
    CHECK(res.result() == status::bad_request);
    CHECK(res.body().find("'id'") != std::string::npos);
    CHECK(res[http::field::content_type] == "application/json");
    CHECK(api.worker.calls.empty());
  }
  SECTION("a wrong method is a 405 with Allow") {
    const http_response res = api.send(verb::delete_, "/api/v1/videos");
    CHECK(res.result() == status::method_not_allowed);
    CHECK(res[http::field::allow] == "GET, HEAD");
    const http_response plans = api.send(verb::post, "/api/v1/plans", "{}");
    CHECK(plans.result() == status::method_not_allowed);
    CHECK(plans[http::field::allow] == "GET, HEAD");
    CHECK(api.worker.calls.empty());
  }
  SECTION("a HEAD is routed as a GET (the session writes the head alone)") {
    api.worker.reply = worker_reply{outcome::ok, std::vector<plan>{{"basic", 1, policy::deny}}};
    const http_response res = api.send(verb::head, "/api/v1/plans");
    CHECK(res.result() == status::ok);
    CHECK(res[http::field::content_type] == "application/json");
    REQUIRE(api.worker.calls.size() == 1);
    CHECK(std::holds_alternative<list_plans_request>(api.worker.calls[0]));
  }
  SECTION("an unknown path is a JSON 404") {
    const http_response res = api.send(verb::post, "/nowhere");
    CHECK(res.result() == status::not_found);
    CHECK(res.body().find(R"("code":"not_found")") != std::string::npos);
  }
  SECTION("/ws without an upgrade is a 400, with another method a 405") {
    CHECK(api.send(verb::get, "/ws?user=alice").result() == status::bad_request);
    const http_response res = api.send(verb::post, "/ws?user=alice");
    CHECK(res.result() == status::method_not_allowed);
    CHECK(res[http::field::allow] == "GET, HEAD");
  }
  SECTION("a GET of a missing file is a JSON 404") {
    const http_response res = api.send(verb::get, "/");
    CHECK(res.result() == status::not_found);
    CHECK(res[http::field::content_type] == "application/json");
  }
}

TEST_CASE("GET /health reports the worker's liveness without a round trip", "[api][router]") {
  api_fixture api;
  SECTION("up") {
    const http_response res = api.send(verb::get, "/health");
    CHECK(res.result() == status::ok);
    CHECK(res.body() == R"({"status":"UP","worker":"UP"})");
  }
  SECTION("down") {
    api.worker.up = false;
    const http_response res = api.send(verb::get, "/health");
    CHECK(res.result() == status::service_unavailable);
    CHECK(res.body() == R"({"status":"UP","worker":"DOWN"})");
  }
  CHECK(api.worker.calls.empty());
}

TEST_CASE("a worker's reply is relayed with the status of its outcome", "[api][router]") {
  api_fixture api;
  SECTION("a body, rendered") {
    api.worker.reply = worker_reply{outcome::ok, std::vector<video>{{"v01", "Sintel", 888}}};
    const http_response res = api.send(verb::get, "/api/v1/videos");
    CHECK(res.result() == status::ok);
    CHECK(res.body() == R"([{"id":"v01","title":"Sintel","durationSeconds":888}])");
    REQUIRE(api.worker.calls.size() == 1);
    CHECK(std::holds_alternative<list_videos_request>(api.worker.calls[0]));
  }
  SECTION("the plans, as the videos") {
    api.worker.reply = worker_reply{outcome::ok, std::vector<plan>{{"basic", 1, policy::deny}}};
    const http_response res = api.send(verb::get, "/api/v1/plans");
    CHECK(res.result() == status::ok);
    CHECK(res[http::field::content_type] == "application/json");
    CHECK(res.body() == R"([{"id":"basic","maxStreams":1,"policy":"deny"}])");
    REQUIRE(api.worker.calls.size() == 1);
    CHECK(std::holds_alternative<list_plans_request>(api.worker.calls[0]));
  }
  SECTION("no content") {
    api.worker.reply = worker_reply{outcome::no_content, {}};
    const http_response res = api.send(verb::delete_, "/api/v1/users/alice/streams/s1");
    CHECK(res.result() == status::no_content);
    CHECK(res.body().empty());
    REQUIRE(api.worker.calls.size() == 1);
    const auto& stop = std::get<stop_request>(api.worker.calls[0]);
    CHECK(stop.user_id == "alice");
    CHECK(stop.stream_id == "s1");
  }
  SECTION("no reply in time is a 503 with Retry-After") {
    const http_response res = api.send(verb::get, "/api/v1/users/alice");
    CHECK(res.result() == status::service_unavailable);
    CHECK(res[http::field::retry_after] == "1");
  }
}

TEST_CASE("a start answers 202 at once or waits for its verdict", "[api][router]") {
  api_fixture api;
  const std::string target = "/api/v1/users/alice/streams";
  const std::string body = R"({"videoId":"v01","requestId":"r_1"})";

  SECTION("without wait it is sent once and answered pending") {
    const http_response res = api.send(verb::post, target, body);
    CHECK(res.result() == status::accepted);
    CHECK(res.body().find(R"("requestId":"r_1")") != std::string::npos);
    CHECK(res.body().find(R"("status":"pending")") != std::string::npos);
    REQUIRE(api.worker.sent.size() == 1);
    const auto& start = std::get<start_request>(api.worker.sent[0]);
    CHECK(start.user_id == "alice");
    CHECK(start.video_id == "v01");
    CHECK(start.session_id.starts_with("ses_"));
  }
  SECTION("wait=false and wait=0 answer 202 at once, as no wait does") {
    const std::string wait = GENERATE("false", "0");
    const http_response res = api.send(verb::post, target + "?wait=" + wait, body);
    CHECK(res.result() == status::accepted);
    CHECK(api.worker.sent.size() == 1);
    CHECK(api.worker.calls.empty());
  }
  SECTION("without wait and without a worker it is a 503 naming the requestId") {
    api.worker.up = false;
    const http_response res = api.send(verb::post, target, body);
    CHECK(res.result() == status::service_unavailable);
    CHECK(res[http::field::retry_after] == "1");
    CHECK(res.body().find(R"("requestId":"r_1")") != std::string::npos);
    CHECK(api.worker.sent.empty());
  }
  SECTION("with wait=true a denial is a 429 with the worker's verdict") {
    verdict denied;
    denied.request_id = "r_1";
    denied.user_id = "alice";
    denied.video_id = "v01";
    denied.reason = "limit_reached";
    denied.active = 1;
    denied.limit = 1;
    api.worker.reply = worker_reply{outcome::denied, denied};
    const http_response res = api.send(verb::post, target + "?wait=true", body);
    CHECK(res.result() == status::too_many_requests);
    CHECK(res.body() == R"({"requestId":"r_1","verdict":"denied","reason":"limit_reached",)"
                        R"("active":1,"limit":1,"streams":[]})");
  }
  SECTION("with wait=1 an unknown user is a 404 naming the requestId") {
    api.worker.reply = worker_reply{outcome::not_found, not_found("unknown user 'alice'")};
    const http_response res = api.send(verb::post, target + "?wait=1", body);
    CHECK(res.result() == status::not_found);
    CHECK(res.body() ==
          R"({"requestId":"r_1","error":{"code":"not_found","message":"unknown user 'alice'"}})");
  }
  SECTION("with wait and no verdict in time it is a 503 to retry") {
    const http_response res = api.send(verb::post, target + "?wait=true", body);
    CHECK(res.result() == status::service_unavailable);
    CHECK(res.body().find("retry with the same requestId") != std::string::npos);
    CHECK(res.body().find(R"("requestId":"r_1")") != std::string::npos);
  }
  SECTION("any other wait is a 400 naming it") {
    const http_response res = api.send(verb::post, target + "?wait=soon", body);
    CHECK(res.result() == status::bad_request);
    CHECK(res.body().find("'wait'") != std::string::npos);
  }
  SECTION("a wait given twice is a 400 whichever comes first, and nothing is sent") {
    const std::string twice = GENERATE("?wait=true&wait=false", "?wait=false&foo=1&wait=true");
    const http_response res = api.send(verb::post, target + twice, body);
    CHECK(res.result() == status::bad_request);
    CHECK(res.body().find("'wait' is given more than once") != std::string::npos);
    CHECK(api.worker.sent.empty());
    CHECK(api.worker.calls.empty());
  }
  SECTION("a malformed body is a 400") {
    const http_response res = api.send(verb::post, target, R"({"videoId":5})");
    CHECK(res.result() == status::bad_request);
    CHECK(api.worker.sent.empty());
  }
}

TEST_CASE("a request not decided yet is pending while this api has it in flight", "[api][router]") {
  api_fixture api;
  api.worker.reply = worker_reply{outcome::not_found, not_found("unknown request 'r_1'")};
  SECTION("in flight") {
    api.worker.pending.insert("r_1");
    const http_response res = api.send(verb::get, "/api/v1/requests/r_1");
    CHECK(res.result() == status::ok);
    CHECK(res.body().find(R"("status":"pending")") != std::string::npos);
  }
  SECTION("unknown") {
    const http_response res = api.send(verb::get, "/api/v1/requests/r_1");
    CHECK(res.result() == status::not_found);
  }
}

TEST_CASE("the api makes a user's token, and shows it only when the worker stored its hash",
          "[api][router]") {
  api_fixture api;
  user_view alice;
  alice.u.id = "alice";
  alice.limit = 3;
  api.worker.reply = worker_reply{outcome::ok, alice};
  const std::string target = "/api/v1/users/alice/token";

  SECTION("a rotation takes no body, {}, or {} between blanks") {
    const std::string body = GENERATE("", "{}", " \t{}\r\n", "\n{} ");
    CAPTURE(body);
    const http_response res = api.send(verb::post, target, body);
    CHECK(res.result() == status::ok);
    CHECK(res[http::field::cache_control] == "no-store");
    CHECK(res.body().starts_with(R"({"token":")"));
    REQUIRE(api.worker.calls.size() == 1);
    const auto& rotate = std::get<rotate_token_request>(api.worker.calls[0]);
    CHECK(rotate.user_id == "alice");
    CHECK(rotate.token_hash.size() == 64);
  }
  SECTION("a token is shown only with the answer that says the worker stored its hash") {
    // A create is stored when it is `created`; any other answer, even one with the user in it,
    // means the token the api made is not the user's.
    const http_response res =
        api.send(verb::post, "/api/v1/users", R"({"id":"alice","name":"Alice"})");
    CHECK(res.result() == status::ok);
    CHECK(res.body().find("token") == std::string::npos);
    CHECK(res[http::field::cache_control] == "no-store");
  }
  SECTION("a rotation with any other body is a 400 that reaches no worker") {
    const std::string body = GENERATE(R"({"token":"mine"})", "{}x", "x{}", "{} {}");
    CAPTURE(body);
    const http_response res = api.send(verb::post, target, body);
    CHECK(res.result() == status::bad_request);
    CHECK(res.body().find("takes no body") != std::string::npos);
    CHECK(api.worker.calls.empty());
  }
}

}  // namespace
}  // namespace streamgate::router_test
