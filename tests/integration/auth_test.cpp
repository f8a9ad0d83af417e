// Bearer tokens (--auth token, docs/design.md §6), against real processes: every refusal the issue
// names (401 without a valid token, 403 with another user's, admin-only routes), WebSockets
// refused before the upgrade, a user's events reaching only that user, the token shown once, and
// no token in the logs.

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "helpers.hpp"
#include "process.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

// Passed in the environment, as the README tells operators to.
const std::string admin_token = "it-admin-token-7f3c9a1e5b2d4680";

stack_options auth_stack() {
  return stack_options{}
      .api_args({"--auth", "token", "--log-level", "debug"})
      .api_env({"STREAMGATE_ADMIN_TOKEN=" + admin_token});
}

// The 201 of POST /api/v1/users: the token comes back there and only there, never to be cached,
// and never its hash.
void check_token_answer(const http_response& r, const std::string& id) {
  CHECK(r.header("Cache-Control") == "no-store");
  const auto body = r.json();
  REQUIRE(json::has_string(body, "token"));
  CHECK(json::str(body, "id") == id);
  CHECK_FALSE(json::has(body, "tokenHash"));
}

// A start with ?wait=true as `token`'s holder; returns the answer.
http_response start_as(http_client& http, std::string_view user_id, std::string_view token,
                       const std::string& request_id) {
  return http.request(http::verb::post, streams_path(user_id) + "?wait=true",
                      start_body(start_args{}.request(request_id).session(request_id)),
                      bearer(token));
}

void check_unauthorized(const http_response& r) {
  INFO(r.describe());
  check_error(r, 401, "unauthorized");
  CHECK(r.header("WWW-Authenticate").rfind("Bearer", 0) == 0);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A raw WebSocket upgrade, for the Authorization header the test's ws_client does not send.
int upgrade_status_with_header(unsigned short port, std::string_view target,
                               std::string_view token) {
  const std::string bytes = "GET " + std::string(target) +
                            " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                            "Sec-WebSocket-Version: 13\r\nAuthorization: Bearer " +
                            std::string(token) + "\r\n\r\n";
  const auto r = raw_exchange(port, bytes);
  REQUIRE(r);
  return r->status;
}

}  // namespace

TEST_CASE("with --auth token the api refuses to start without an admin token",
          "[integration][auth]") {
  stack s;  // for a temp dir and a worker; the api under test is started apart
  const auto log = s.dir() / "lone-api.log";
  process api(api_program(),
              {"--auth", "token", "--listen", "127.0.0.1:" + std::to_string(s.http_port()),
               "--requests", "tcp://127.0.0.1:" + std::to_string(s.requests_port()), "--events",
               "tcp://127.0.0.1:" + std::to_string(s.events_port())},
              s.dir(), log);
  REQUIRE(wait_until([&] { return !api.running(); }, 10s));
  CHECK(api.exit_code() == 2);
  CHECK(read_file(log).find("STREAMGATE_ADMIN_TOKEN") != std::string::npos);

  // A short admin token is refused too, without being quoted.
  const auto short_log = s.dir() / "short-api.log";
  process short_token(api_program(), {"--auth", "token"}, s.dir(), short_log,
                      {"STREAMGATE_ADMIN_TOKEN=tiny-secret"});
  REQUIRE(wait_until([&] { return !short_token.running(); }, 10s));
  CHECK(short_token.exit_code() == 2);
  const std::string said = read_file(short_log);
  CHECK(said.find("STREAMGATE_ADMIN_TOKEN") != std::string::npos);
  CHECK(said.find("tiny-secret") == std::string::npos);
}

TEST_CASE("a created user's token is returned once, works, and is never shown again",
          "[integration][auth]") {
  stack s(auth_stack());
  http_client http(s.http_port());
  const account alice = create_account(http, admin_token, "auth", check_token_answer);
  CHECK(alice.token.rfind(alice.id + ".", 0) == 0);

  const auto own = http.request(http::verb::get, user_path(alice.id), {}, bearer(alice.token));
  INFO(own.describe());
  REQUIRE(own.status == 200);
  check_user_shape(own.json());
  CHECK(own.body.find(alice.token) == std::string::npos);
  CHECK(own.body.find("token") == std::string::npos);

  const auto listed =
      http.request(http::verb::get, "/api/v1/users?name=" + alice.id, {}, bearer(admin_token));
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(alice.id) != std::string::npos);
  CHECK(listed.body.find("token") == std::string::npos);

  // The token survives a restart: it is stored (hashed) with the user, and a fresh api has no
  // cached confirmation of it.
  s.stop_api();
  s.stop_worker();
  s.start_worker();
  s.start_api();
  s.wait_healthy();
  const auto r = start_as(http, alice.id, alice.token, unique_id("r"));
  INFO(r.describe());
  CHECK(r.status == 201);
}

TEST_CASE("requests without a valid token are refused with 401, open routes need none",
          "[integration][auth]") {
  stack s(auth_stack());
  http_client http(s.http_port());
  const account alice = create_account(http, admin_token, "auth", check_token_answer);
  const std::string wrong_secret = alice.id + "." + std::string(43, 'A');

  const std::vector<std::pair<http::verb, std::string>> guarded{
      {http::verb::get, user_path(alice.id)},
      {http::verb::get, streams_path(alice.id)},
      {http::verb::post, streams_path(alice.id) + "?wait=true"},
      {http::verb::delete_, streams_path(alice.id)},
      {http::verb::delete_, stream_path(alice.id, "s_1")},
      {http::verb::post, heartbeat_path(alice.id, "s_1")},
      {http::verb::get, user_path(alice.id) + "/events"},
      {http::verb::get, "/api/v1/requests/r_1"},
      {http::verb::get, "/api/v1/users?name=a"},
      {http::verb::post, "/api/v1/users"},
      {http::verb::patch, user_path(alice.id)},
  };
  const std::vector<header_list> refused{
      {},
      bearer(wrong_secret),
      bearer("not-a-token"),
      bearer(admin_token + "x"),
      {{"Authorization", "Basic " + alice.token}},
      {{"Authorization", "Bearer"}},
      {{"Authorization", "Bearer" + alice.token}},  // RFC 6750 §2.1: a space after the scheme
  };
  for (const auto& [method, target] : guarded) {
    for (const header_list& headers : refused) {
      CAPTURE(target, headers.empty() ? "no header" : headers[0].second.substr(0, 12));
      check_unauthorized(http.request(method, target, "{\"videoId\":\"v01\"}", headers));
    }
  }

  // ?token= is read for a WebSocket only, whose browser API sets no header: in a REST URL it
  // would end up in logs and histories, so it counts for nothing.
  check_unauthorized(http.get(streams_path(alice.id) + "?token=" + alice.token));

  for (const char* open : {"/health", "/metrics", "/openapi.json", "/docs", "/api/v1/videos",
                           "/api/v1/videos/v01", "/"}) {
    CAPTURE(open);
    CHECK(http.get(open).status == 200);
  }
}

TEST_CASE("a user's token gets 403 on another user's streams, which stay untouched",
          "[integration][auth]") {
  stack s(auth_stack());
  http_client http(s.http_port());
  const account alice = create_account(http, admin_token, "alice", check_token_answer);
  const account bob = create_account(http, admin_token, "bob", check_token_answer);

  const std::string bob_request = unique_id("r");
  const auto started = start_as(http, bob.id, bob.token, bob_request);
  INFO(started.describe());
  REQUIRE(started.status == 201);
  const std::string bob_stream = json::str(json::member(started.json(), "stream"), "streamId");

  const std::vector<std::pair<http::verb, std::string>> bobs{
      {http::verb::get, user_path(bob.id)},
      {http::verb::get, streams_path(bob.id)},
      {http::verb::post, streams_path(bob.id) + "?wait=true"},
      {http::verb::post, heartbeat_path(bob.id, bob_stream)},
      {http::verb::delete_, stream_path(bob.id, bob_stream)},
      {http::verb::delete_, streams_path(bob.id)},
      {http::verb::get, user_path(bob.id) + "/events"},
  };
  for (const auto& [method, target] : bobs) {
    CAPTURE(target);
    const auto r = http.request(method, target, "{\"videoId\":\"v02\"}", bearer(alice.token));
    INFO(r.describe());
    check_error(r, 403, "forbidden");
  }

  // A verdict of another user is an unknown request id; the owner and the admin see it.
  const auto others =
      http.request(http::verb::get, "/api/v1/requests/" + bob_request, {}, bearer(alice.token));
  INFO(others.describe());
  check_error(others, 404, "not_found");
  CHECK(others.body.find(bob.id) == std::string::npos);
  CHECK(http.request(http::verb::get, "/api/v1/requests/" + bob_request, {}, bearer(bob.token))
            .status == 200);
  CHECK(http.request(http::verb::get, "/api/v1/requests/" + bob_request, {}, bearer(admin_token))
            .status == 200);

  // Nothing of bob's changed: his one stream is still there, and he may act on it himself.
  const auto listed = http.request(http::verb::get, streams_path(bob.id), {}, bearer(bob.token));
  REQUIRE(listed.status == 200);
  CHECK(json::strings_of(listed.json(), "streamId") == std::vector<std::string>{bob_stream});
  CHECK(http.request(http::verb::post, heartbeat_path(bob.id, bob_stream), {}, bearer(bob.token))
            .status == 200);
}

TEST_CASE("only the admin creates, patches and lists users, and stops another's streams",
          "[integration][auth]") {
  stack s(auth_stack());
  http_client http(s.http_port());
  const account alice = create_account(http, admin_token, "auth", check_token_answer);

  const auto create = http.request(http::verb::post, "/api/v1/users",
                                   json::object({{"name", "Mallory"}}), bearer(alice.token));
  check_error(create, 403, "forbidden");
  const auto patch_self = http.request(http::verb::patch, user_path(alice.id),
                                       json::object({{"maxStreams", 50}}), bearer(alice.token));
  check_error(patch_self, 403, "forbidden");
  const auto list = http.request(http::verb::get, "/api/v1/users?name=", {}, bearer(alice.token));
  check_error(list, 403, "forbidden");

  const auto patched = http.request(http::verb::patch, user_path(alice.id),
                                    json::object({{"maxStreams", 5}}), bearer(admin_token));
  INFO(patched.describe());
  REQUIRE(patched.status == 200);
  CHECK(json::integer(patched.json(), "maxStreams") == 5);
  // A patch keeps the user's token.
  const auto started = start_as(http, alice.id, alice.token, unique_id("r"));
  INFO(started.describe());
  REQUIRE(started.status == 201);
  const std::string stream_id = json::str(json::member(started.json(), "stream"), "streamId");

  // An id the client does not choose is assigned, and the token names it.
  const auto anonymous = http.request(http::verb::post, "/api/v1/users",
                                      json::object({{"name", "No Id"}}), bearer(admin_token));
  REQUIRE(anonymous.status == 201);
  const auto body = anonymous.json();
  CHECK(json::str(body, "token").rfind(json::str(body, "id") + ".", 0) == 0);

  CHECK(http.request(http::verb::delete_, stream_path(alice.id, stream_id), {}, bearer(admin_token))
            .status == 204);
  CHECK(http.request(http::verb::delete_, streams_path(alice.id), {}, bearer(admin_token)).status ==
        204);
  const auto left = http.request(http::verb::get, streams_path(alice.id), {}, bearer(alice.token));
  REQUIRE(left.status == 200);
  CHECK(left.json().Empty());
}

TEST_CASE("a WebSocket opens only with its user's token", "[integration][auth][websocket]") {
  stack s(auth_stack());
  http_client http(s.http_port());
  const account alice = create_account(http, admin_token, "alice", check_token_answer);
  const account bob = create_account(http, admin_token, "bob", check_token_answer);
  const unsigned short port = s.http_port();
  const std::string alices = ws_client::target_for(alice.id);

  CHECK(ws_upgrade_status(port, alices) == 401);
  CHECK(ws_upgrade_status(port, alices + "&token=" + alice.id + "." + std::string(43, 'A')) == 401);
  CHECK(ws_upgrade_status(port, alices + "&token=" + bob.token) == 403);
  CHECK(upgrade_status_with_header(port, alices, bob.token) == 403);
  CHECK(upgrade_status_with_header(port, alices, "garbage") == 401);

  CHECK(ws_upgrade_status(port, alices + "&token=" + alice.token) == 101);
  CHECK(upgrade_status_with_header(port, alices, alice.token) == 101);
  CHECK(ws_upgrade_status(port, alices + "&token=" + admin_token) == 101);
}

TEST_CASE("a user's WebSocket receives only that user's events", "[integration][auth][websocket]") {
  stack s(auth_stack());
  http_client http(s.http_port());
  const account alice = create_account(http, admin_token, "alice", check_token_answer);
  const account bob = create_account(http, admin_token, "bob", check_token_answer);
  ws_client alice_ws(s.http_port(), ws_client::target_for(alice.id) + "&token=" + alice.token);
  ws_client bob_ws(s.http_port(), ws_client::target_for(bob.id) + "&token=" + bob.token);
  read_snapshot(alice_ws, alice.id);
  read_snapshot(bob_ws, bob.id);

  const std::string bob_request = unique_id("r");
  REQUIRE(start_as(http, bob.id, bob.token, bob_request).status == 201);
  read_verdict(bob_ws, bob_request);
  // One worker publishes in order, so alice's verdict comes after bob's: had bob's reached her
  // socket, it would be there by the time hers is.
  const std::string alice_request = unique_id("r");
  REQUIRE(start_as(http, alice.id, alice.token, alice_request).status == 201);
  read_verdict(alice_ws, alice_request);

  for (const std::string& text : alice_ws.received()) {
    CAPTURE(text);
    const auto message = json::parse(text);
    CHECK(json::str(message, "userId") == alice.id);
  }
}

TEST_CASE("a token never reaches the logs", "[integration][auth][logs]") {
  stack s(auth_stack());
  http_client http(s.http_port());
  const account alice = create_account(http, admin_token, "auth", check_token_answer);

  CHECK(http.request(http::verb::get, streams_path(alice.id), {}, bearer(alice.token)).status ==
        200);
  CHECK(http.request(http::verb::get, "/api/v1/users?name=x", {}, bearer(admin_token)).status ==
        200);
  // A token in the query of any request, and a refused one.
  CHECK(http.get("/api/v1/videos?token=" + alice.token).status == 200);
  CHECK(http.get("/ws?user=" + alice.id + "&token=" + alice.token).status == 400);
  check_unauthorized(http.request(http::verb::get, user_path(alice.id), {},
                                  bearer(alice.id + "." + std::string(43, 'B'))));
  CHECK(ws_upgrade_status(s.http_port(),
                          ws_client::target_for(alice.id) + "&token=" + alice.token) == 101);

  // The api logs one line per request at debug level: wait for the last one to be written.
  const auto api_log = s.dir() / "api0.log";
  std::string logged;
  REQUIRE(wait_until(
      [&] {
        logged = read_file(api_log);
        return logged.find("/ws?user=" + alice.id + "&token=REDACTED 400") != std::string::npos;
      },
      10s));
  INFO(logged);
  CHECK(logged.find("/api/v1/videos?token=REDACTED") != std::string::npos);
  CHECK(logged.find(alice.token) == std::string::npos);
  CHECK(logged.find(alice.token.substr(alice.id.size() + 1)) == std::string::npos);
  CHECK(logged.find(admin_token) == std::string::npos);
  CHECK(logged.find(std::string(43, 'B')) == std::string::npos);
  const std::string worker_logged = read_file(s.dir() / "worker.log");
  CHECK(worker_logged.find(alice.token.substr(alice.id.size() + 1)) == std::string::npos);
}
