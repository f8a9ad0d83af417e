// Bearer tokens (--auth token): token making and hashing, the api's cache of confirmations, the
// route table's access column, the router's gate with a fake worker, log redaction, and the
// worker's answer to authenticate.

#include "api/auth/auth.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "api/routes/api_routes.hpp"
#include "api/services.hpp"
#include "api/auth/token_cache.hpp"
#include "api/auth/tokens.hpp"
#include "api/worker_link/worker_client.hpp"
#include "api/websocket/ws_registry.hpp"
#include "common/codec.hpp"

// A namespace of its own: the unity build may put this file beside another with a fake_worker.
namespace streamgate::auth_test {
namespace {

using namespace std::chrono_literals;
using http::status;
using http::verb;

const std::string admin_token = "unit-admin-token-0123456789";

// ---- tokens --------------------------------------------------------------------------------

TEST_CASE("a new token names its user and holds 32 random bytes in base64url", "[auth][tokens]") {
  const std::string token = new_token("alice_1");
  CAPTURE(token);
  CHECK(token.rfind("alice_1.", 0) == 0);
  CHECK(token.size() == std::string("alice_1.").size() + 43);
  CHECK(token_user(token) == std::optional<std::string_view>("alice_1"));
  CHECK(new_token("alice_1") != token);
}

TEST_CASE("only tokens shaped like ours name a user", "[auth][tokens]") {
  const std::string secret(43, 'A');
  auto [token, user] = GENERATE_REF(table<std::string, std::string>({
      {"alice." + secret, "alice"},
      {"a-b_c." + std::string(43, '-'), "a-b_c"},
      {"alice" + secret, ""},                   // no separator
      {"." + secret, ""},                       // no user
      {"alice." + secret + "A", ""},            // secret too long
      {"alice." + secret.substr(1), ""},        // too short
      {"alice." + secret.substr(1) + "=", ""},  // padding is not ours
      {"al ice." + secret, ""},                 // not an id
      {"", ""},
  }));
  CAPTURE(token);
  const auto found = token_user(token);
  if (user.empty())
    CHECK_FALSE(found);
  else
    CHECK(found == std::optional<std::string_view>(user));
}

TEST_CASE("SHA-256 is hex of the standard digest and secrets compare by content",
          "[auth][tokens]") {
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(same_secret("abc", "abc"));
  CHECK_FALSE(same_secret("abc", "abd"));
  CHECK_FALSE(same_secret("abc", "abcd"));
  CHECK(same_secret("", ""));
}

// ---- token cache -----------------------------------------------------------------------------

TEST_CASE("the token cache remembers confirmations for their user until the ttl",
          "[auth][token_cache]") {
  const auto t0 = token_cache::clock::time_point{} + 1h;
  token_cache cache(10, 60s);
  const std::string hash = sha256_hex("alice.x");
  CHECK_FALSE(cache.confirmed("alice", hash, t0));
  cache.confirm("alice", hash, t0);
  CHECK(cache.confirmed("alice", hash, t0));
  CHECK(cache.confirmed("alice", hash, t0 + 59s));
  CHECK_FALSE(cache.confirmed("bob", hash, t0));
  CHECK_FALSE(cache.confirmed("alice", sha256_hex("alice.y"), t0));
  CHECK_FALSE(cache.confirmed("alice", hash, t0 + 60s));

  // Confirmed again after it ran out: remembered again, and pruning the old record keeps it.
  cache.confirm("alice", hash, t0 + 61s);
  cache.confirm("bob", sha256_hex("bob.x"), t0 + 100s);  // prunes the first record of alice's
  CHECK(cache.confirmed("alice", hash, t0 + 120s));
  CHECK_FALSE(cache.confirmed("alice", hash, t0 + 121s));
}

TEST_CASE("a full token cache forgets its oldest confirmation first", "[auth][token_cache]") {
  const auto t0 = token_cache::clock::time_point{} + 1h;
  token_cache cache(3, 60s);
  for (int i = 0; i < 4; ++i)
    cache.confirm("u" + std::to_string(i), sha256_hex(std::to_string(i)), t0 + i * 1s);
  CHECK(cache.size() == 3);
  CHECK_FALSE(cache.confirmed("u0", sha256_hex("0"), t0 + 5s));
  for (int i = 1; i < 4; ++i)
    CHECK(cache.confirmed("u" + std::to_string(i), sha256_hex(std::to_string(i)), t0 + 5s));
}

TEST_CASE("a revocation forgets the user's confirmations only, and a gap forgets them all",
          "[auth][token_cache]") {
  const auto t0 = token_cache::clock::time_point{} + 1h;
  token_cache cache(10, 60s);
  cache.confirm("alice", "ha1", t0);
  cache.confirm("alice", "ha2", t0);
  cache.confirm("bob", "hb", t0);
  cache.forget("alice");
  CHECK_FALSE(cache.confirmed("alice", "ha1", t0));
  CHECK_FALSE(cache.confirmed("alice", "ha2", t0));
  CHECK(cache.confirmed("bob", "hb", t0));
  // Confirmed again after the revocation (the new token): kept, and expiry still works.
  cache.confirm("alice", "ha3", t0 + 1s);
  CHECK(cache.confirmed("alice", "ha3", t0 + 2s));
  CHECK_FALSE(cache.confirmed("alice", "ha3", t0 + 62s));
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK_FALSE(cache.confirmed("bob", "hb", t0));
}

// ---- route table -----------------------------------------------------------------------------

TEST_CASE("every route names who may call it, and no user's resource is open", "[auth][router]") {
  const router routes = make_api_router();
  std::set<std::string> admin_only;
  for (const route& r : routes.routes()) {
    const std::string name = std::string(http::to_string(r.method)) + " " + std::string(r.pattern);
    CAPTURE(name, to_string(r.access));
    // A user's own resources; managing the user itself (patch, delete, a new token) is the
    // admin's.
    if (r.pattern.starts_with("/api/v1/users/{id}") && r.method != verb::patch &&
        !(r.pattern == "/api/v1/users/{id}" && r.method == verb::delete_) &&
        r.pattern != "/api/v1/users/{id}/token")
      CHECK(r.access == access::owner);
    if (r.access == access::admin) admin_only.insert(name);
    if (r.access == access::open)
      CHECK((r.pattern == "/health" || r.pattern == "/metrics" || r.pattern == "/openapi.json" ||
             r.pattern == "/docs" || r.pattern == "/ws" ||
             r.pattern.starts_with("/api/v1/videos") || r.pattern == "/api/v1/plans" ||
             // The playback token is the credential of these (docs/design.md §9).
             r.pattern == "/api/v1/playback/authorize" || r.pattern == "/media/{videoId}/{file}"));
  }
  CHECK(admin_only == std::set<std::string>{"GET /api/v1/users", "POST /api/v1/users",
                                            "PATCH /api/v1/users/{id}", "DELETE /api/v1/users/{id}",
                                            "POST /api/v1/users/{id}/token"});
}

// ---- the router's gate, with a fake worker ---------------------------------------------------

// Answers authenticate with `authenticated` and everything else with `reply`; counts what came.
class fake_worker final : public worker_client {
 public:
  asio::awaitable<std::optional<worker_reply>> call(request_body body,
                                                    std::chrono::milliseconds) override {
    if (const auto* a = std::get_if<authenticate_request>(&body)) {
      authentications.push_back(*a);
      co_return authenticated;
    }
    calls.push_back(std::move(body));
    co_return reply;
  }
  bool send_only(request_body) override { return true; }
  bool worker_up() const override { return true; }
  bool in_flight(std::string_view) const override { return false; }

  std::optional<worker_reply> authenticated = worker_reply{outcome::ok, std::monostate{}};
  std::optional<worker_reply> reply = worker_reply{outcome::ok, std::monostate{}};
  std::vector<authenticate_request> authentications;
  std::vector<request_body> calls;
};

struct auth_fixture {
  auth_fixture() { services.auth = &auth; }

  http_response send(verb method, std::string target, std::string token = {}) {
    http_request request{method, target, 11};
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
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

  result<std::string> open_websocket(std::string target, std::string token = {}) {
    http_request request{verb::get, target, 11};
    request.set(http::field::upgrade, "websocket");
    request.set(http::field::connection, "Upgrade");
    request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
    request.set(http::field::sec_websocket_version, "13");
    if (!token.empty()) request.set(http::field::authorization, "Bearer " + token);
    asio::io_context ioc;
    std::optional<result<std::string>> user;
    asio::co_spawn(ioc, authorize_websocket(request, services),
                   [&](std::exception_ptr e, result<std::string> r) {
                     if (e) std::rethrow_exception(e);
                     user = std::move(r);
                   });
    ioc.run();
    REQUIRE(user);
    return std::move(*user);
  }

  fake_worker worker;
  ws_registry sockets;
  router routes = make_api_router();
  token_cache confirmed{100, std::chrono::minutes(1)};
  authenticator auth{admin_token, confirmed};
  api_services services{worker, sockets, routes, 2000ms, "/nonexistent-web-root"};
  const std::string alice = new_token("alice");
};

TEST_CASE_METHOD(auth_fixture, "without a valid token a guarded route answers 401 and asks no one",
                 "[auth][router]") {
  const std::string target =
      GENERATE(std::string("/api/v1/users/alice/streams"), std::string("/api/v1/users"),
               std::string("/api/v1/requests/r_1"));
  CAPTURE(target);
  for (const std::string& token : {std::string(), std::string("garbage"), admin_token + "x"}) {
    const http_response res = send(verb::get, target, token);
    CHECK(res.result() == status::unauthorized);
    CHECK(res[http::field::www_authenticate].starts_with("Bearer"));
    CHECK(res.body().find(R"("code":"unauthorized")") != std::string::npos);
  }
  CHECK(worker.authentications.empty());
  CHECK(worker.calls.empty());
}

TEST_CASE_METHOD(auth_fixture,
                 "a token the worker does not confirm is a 401, and again without asking; no "
                 "answer a 503",
                 "[auth][router]") {
  const std::string other = new_token("alice");
  const std::string third = new_token("alice");
  worker.authenticated =
      worker_reply{outcome::forbidden, error{error_code::forbidden, "not alice's token"}};
  CHECK(send(verb::get, "/api/v1/users/alice", alice).result() == status::unauthorized);
  worker.authenticated = worker_reply{outcome::not_found, not_found("unknown user 'alice'")};
  CHECK(send(verb::get, "/api/v1/users/alice", other).result() == status::unauthorized);
  REQUIRE(worker.authentications.size() == 2);
  // Refused tokens are remembered for a moment: a flood of one costs no round trip each.
  for (int i = 0; i < 50; ++i) {
    CHECK(send(verb::get, "/api/v1/users/alice", alice).result() == status::unauthorized);
    CHECK(send(verb::get, "/api/v1/users/alice", other).result() == status::unauthorized);
  }
  CHECK(worker.authentications.size() == 2);
  worker.authenticated.reset();
  const http_response res = send(verb::get, "/api/v1/users/alice", third);
  CHECK(res.result() == status::service_unavailable);
  CHECK(res[http::field::retry_after] == "1");
  CHECK(worker.calls.empty());
}

TEST_CASE_METHOD(auth_fixture,
                 "a user's token acts on that user only, and is checked once a minute",
                 "[auth][router]") {
  CHECK(send(verb::get, "/api/v1/users/alice/streams", alice).result() == status::ok);
  REQUIRE(worker.authentications.size() == 1);
  CHECK(worker.authentications[0].user_id == "alice");
  CHECK(worker.authentications[0].token_hash == sha256_hex(alice));
  CHECK(worker.calls.size() == 1);

  // Cached: the next requests cost no authenticate round trip.
  CHECK(send(verb::delete_, "/api/v1/users/alice/streams", alice).result() == status::ok);
  CHECK(send(verb::get, "/api/v1/users/alice", alice).result() == status::ok);
  CHECK(worker.authentications.size() == 1);

  for (const auto& [method, target] : std::vector<std::pair<verb, std::string>>{
           {verb::get, "/api/v1/users/bob"},
           {verb::get, "/api/v1/users/bob/streams"},
           {verb::delete_, "/api/v1/users/bob/streams/s_1"},
           {verb::get, "/api/v1/users"},
           {verb::post, "/api/v1/users"},
           {verb::patch, "/api/v1/users/alice"},
       }) {
    CAPTURE(target);
    const http_response res = send(method, target, alice);
    CHECK(res.result() == status::forbidden);
    CHECK(res.body().find(R"("code":"forbidden")") != std::string::npos);
  }
  CHECK(worker.calls.size() == 3);
}

TEST_CASE_METHOD(auth_fixture, "a user asks for requests as their own, the admin for any",
                 "[auth][router]") {
  REQUIRE(send(verb::get, "/api/v1/requests/r_1", alice).result() == status::ok);
  REQUIRE(send(verb::get, "/api/v1/requests/r_2", admin_token).result() == status::ok);
  REQUIRE(worker.calls.size() == 2);
  CHECK(std::get<get_request_request>(worker.calls[0]).owner_id == "alice");
  CHECK_FALSE(std::get<get_request_request>(worker.calls[1]).owner_id);
  CHECK(worker.authentications.size() == 1);  // the admin's token is not a worker's business
}

TEST_CASE_METHOD(auth_fixture, "open routes and the admin need no worker to check a token",
                 "[auth][router]") {
  CHECK(send(verb::get, "/health").result() == status::ok);
  CHECK(send(verb::get, "/api/v1/videos").result() == status::ok);
  CHECK(send(verb::get, "/api/v1/plans").result() == status::ok);
  CHECK(send(verb::get, "/api/v1/users/bob/streams", admin_token).result() == status::ok);
  CHECK(send(verb::patch, "/api/v1/users/bob", admin_token).result() == status::bad_request);
  CHECK(worker.authentications.empty());
}

TEST_CASE_METHOD(auth_fixture, "a WebSocket opens only with its user's token or the admin's",
                 "[auth][websocket]") {
  CHECK(open_websocket("/ws?user=alice").error().code == error_code::unauthorized);
  CHECK(open_websocket("/ws?user=bob", alice).error().code == error_code::forbidden);
  CHECK(open_websocket("/ws?user=bob&token=" + alice).error().code == error_code::forbidden);
  CHECK(open_websocket("/ws?user=alice", alice).value() == "alice");
  CHECK(open_websocket("/ws?user=alice&token=" + alice).value() == "alice");
  CHECK(open_websocket("/ws?user=alice&token=" + admin_token).value() == "alice");
  CHECK(open_websocket("/ws?user=a%20b", alice).error().code == error_code::bad_request);
}

TEST_CASE("without auth every route is open and no token is asked for", "[auth][router]") {
  fake_worker worker;
  ws_registry sockets;
  const router routes = make_api_router();
  const api_services services{worker, sockets, routes, 2000ms, "/nonexistent-web-root"};
  http_request request{verb::get, "/api/v1/users/bob/streams", 11};
  asio::io_context ioc;
  std::optional<http_response> response;
  asio::co_spawn(ioc, routes.dispatch(request, services),
                 [&](std::exception_ptr e, http_response r) {
                   if (e) std::rethrow_exception(e);
                   response = std::move(r);
                 });
  ioc.run();
  REQUIRE(response);
  CHECK(response->result() == status::ok);
  CHECK(worker.authentications.empty());
}

// ---- logs ---------------------------------------------------------------------------------------

TEST_CASE("a token in a request-target is redacted for logs", "[auth][logs]") {
  const std::string user_token = "alice." + std::string(43, 'Q');
  auto [target, expected] = GENERATE_REF(table<std::string, std::string>({
      {"/api/v1/videos", "/api/v1/videos"},
      {"/ws?user=alice&token=alice.s3cret", "/ws?user=alice&token=REDACTED"},
      {"/ws?token=s3cret&user=alice", "/ws?token=REDACTED&user=alice"},
      {"/x?token=a&token=b", "/x?token=REDACTED&token=REDACTED"},
      {"/x?%74oken=s3cret", "/x?%74oken=REDACTED"},
      {"/x?TOKEN=s3cret", "/x?TOKEN=REDACTED"},
      {"/x?token", "/x?token=REDACTED"},
      // Forms the api does not read are hidden too: a client meant them as tokens.
      {"/x?tokens=s3cret&a=1", "/x?tokens=REDACTED&a=1"},
      {"/x?token[]=s3cret", "/x?token[]=REDACTED"},
      {"/x?token%5B%5D=s3cret", "/x?token%5B%5D=REDACTED"},
      {"/ws?user=alice;token=s3cret", "/ws?user=alice;token=REDACTED"},
      {"/x?access_token=s3cret&a=1", "/x?access_token=REDACTED&a=1"},
      {"/x?Access%5FToken=s3cret", "/x?Access%5FToken=REDACTED"},
      {"/x?t=" + user_token, "/x?t=REDACTED"},
      {"/api/v1/users/" + user_token + "/streams", "/api/v1/users/REDACTED/streams"},
      {"/x?user=alice&v=1.5", "/x?user=alice&v=1.5"},
      {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui-bundle.js"},
  }));
  CAPTURE(target);
  CHECK(redacted_target(target) == expected);
}

TEST_CASE("token hashes travel only in the worker's wire format", "[auth][codec]") {
  const std::string hash(64, 'a');
  const auto create =
      decode_request(R"({"op":"create_user","corr":1,"name":"C","tokenHash":")" + hash + R"("})");
  REQUIRE(create.has_value());
  CHECK(std::get<create_user_request>(create->body).token_hash == hash);
  for (const std::string& bad :
       {std::string(63, 'a'), std::string(64, 'A'), std::string(64, 'g')}) {
    CAPTURE(bad);
    const auto refused =
        decode_request(R"({"op":"authenticate","corr":1,"userId":"a","tokenHash":")" + bad + "\"}");
    REQUIRE_FALSE(refused.has_value());
    CHECK(refused.error().message.find("tokenHash") != std::string::npos);
  }
  // A client cannot choose its own token.
  const auto body = decode_create_user_body(R"({"name":"C","tokenHash":")" + hash + R"("})");
  REQUIRE_FALSE(body.has_value());
  CHECK(body.error().message.find("tokenHash") != std::string::npos);
}

}  // namespace
}  // namespace streamgate::auth_test
