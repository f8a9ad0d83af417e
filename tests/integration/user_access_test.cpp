// A user's access taken back (hardening: a leaked token was valid for ever, and no user could be
// deleted), against real processes: two apis behind one store, so a revocation must reach the api
// that did not serve it. POST /api/v1/users/{id}/token replaces the token, DELETE
// /api/v1/users/{id} removes the user (docs/design.md §6, revocation). Each api caches a
// confirmed token for a minute: the old token must be refused well before that, which the
// deadlines below (5 s) prove without timing anything.

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"
#include "ws_client.hpp"

using namespace streamgate::it;
using namespace std::chrono_literals;

// Names apart from auth_test.cpp's: a unity build compiles the two side by side.
namespace {

const std::string admin_secret = "it-admin-token-5e2b8c4d7a1f3690";
// Both apis sign playback tokens with one key, so either checks the other's.
const std::string shared_key = std::string(64, '7');

stack_options two_apis_with_auth() {
  return stack_options{}
      .apis(2)
      .api_args({"--auth", "token"})
      .api_env({"STREAMGATE_ADMIN_TOKEN=" + admin_secret, "STREAMGATE_PLAYBACK_KEY=" + shared_key});
}

int user_status(http_client& http, std::string_view user_id, std::string_view token) {
  return http.request(http::verb::get, user_path(user_id), {}, bearer(token)).status;
}

// Starts a stream as the user; returns its playback token.
std::string start_playing(http_client& http, const account& user) {
  const std::string request_id = unique_id("r");
  const auto r =
      http.request(http::verb::post, streams_path(user.id) + "?wait=true",
                   start_body(start_args{}.video("v01").request(request_id)), bearer(user.token));
  INFO(r.describe());
  REQUIRE(r.status == 201);
  return json::str(r.json()["playback"], "token");
}

// The authorize check nginx makes per media request: "" when allowed, else the refusal's code.
std::string playback_refusal(http_client& http, std::string_view token) {
  const auto r =
      http.request(http::verb::get, "/api/v1/playback/authorize", {},
                   {{"X-Original-URI", "/media/v01/seg00.ts?token=" + std::string(token)}});
  if (r.status == 204) return "";
  INFO(r.describe());
  REQUIRE(r.status == 403);
  return json::str(r.json()["error"], "code");
}

}  // namespace

TEST_CASE("a new token is refused on no api and the old one on every api, its socket closed",
          "[integration][auth][access]") {
  stack s(two_apis_with_auth());
  http_client first(s.http_port(0));
  http_client other(s.http_port(1));
  const account alice = create_account(first, admin_secret, "alice");
  // Both apis confirm the token now, and would keep trusting it for a minute on their own.
  REQUIRE(user_status(first, alice.id, alice.token) == 200);
  REQUIRE(user_status(other, alice.id, alice.token) == 200);
  ws_client socket(s.http_port(1), ws_client::target_for(alice.id) + "&token=" + alice.token);
  read_snapshot(socket, alice.id);
  const std::string playback = start_playing(first, alice);

  const auto rotated =
      first.request(http::verb::post, user_path(alice.id) + "/token", {}, bearer(admin_secret));
  INFO(rotated.describe());
  REQUIRE(rotated.status == 200);
  CHECK(rotated.header("Cache-Control") == "no-store");
  const auto body = rotated.json();  // a document: kept while its strings are read
  CHECK(json::str(body, "id") == alice.id);
  const std::string fresh = json::str(body, "token");
  CHECK(fresh.rfind(alice.id + ".", 0) == 0);
  CHECK(fresh != alice.token);

  for (http_client* api : {&first, &other}) {
    CHECK(wait_until([&] { return user_status(*api, alice.id, alice.token) == 401; }, 5s));
    CHECK(user_status(*api, alice.id, fresh) == 200);
  }
  CHECK(socket.wait_closed(5s));
  CHECK(ws_upgrade_status(s.http_port(1),
                          ws_client::target_for(alice.id) + "&token=" + alice.token) == 401);
  // The streams it started keep playing: a new token is not a log-out.
  CHECK(playback_refusal(other, playback).empty());
  const auto streams = other.request(http::verb::get, streams_path(alice.id), {}, bearer(fresh));
  REQUIRE(streams.status == 200);
  const auto listed = streams.json();
  CHECK(listed.Size() == 1);
  const auto audit =
      first.request(http::verb::get, user_path(alice.id) + "/events", {}, bearer(fresh));
  REQUIRE(audit.status == 200);
  const auto lines = audit.json();
  REQUIRE(lines.Size() >= 1);
  CHECK(json::str(lines[0], "type") == "token_rotated");
}

TEST_CASE("a deleted user's streams end, its token is refused everywhere and its id is free again",
          "[integration][auth][access]") {
  stack s(two_apis_with_auth());
  http_client first(s.http_port(0));
  http_client other(s.http_port(1));
  const account alice = create_account(first, admin_secret, "alice");
  const account bob = create_account(first, admin_secret, "bob");
  REQUIRE(user_status(other, alice.id, alice.token) == 200);
  const std::string one = start_playing(first, alice);
  const std::string two = start_playing(other, alice);
  const std::string bobs = start_playing(first, bob);
  ws_client socket(s.http_port(1), ws_client::target_for(alice.id) + "&token=" + alice.token);
  read_snapshot(socket, alice.id);

  const auto deleted =
      first.request(http::verb::delete_, user_path(alice.id), {}, bearer(admin_secret));
  INFO(deleted.describe());
  REQUIRE(deleted.status == 204);

  for (http_client* api : {&first, &other}) {
    CHECK(wait_until([&] { return user_status(*api, alice.id, alice.token) == 401; }, 5s));
    CHECK(wait_until([&] { return playback_refusal(*api, one) == "stream_ended"; }, 5s));
    CHECK(playback_refusal(*api, two) == "stream_ended");
    check_error(api->request(http::verb::get, user_path(alice.id), {}, bearer(admin_secret)), 404,
                "not_found");
  }
  CHECK(socket.wait_closed(5s));
  // Another user's streams are untouched.
  CHECK(playback_refusal(other, bobs).empty());
  CHECK(user_status(other, bob.id, bob.token) == 200);
  const auto listed =
      first.request(http::verb::get, "/api/v1/users?name=Test", {}, bearer(admin_secret));
  REQUIRE(listed.status == 200);
  const auto users = listed.json();
  for (const auto& user : users.GetArray()) CHECK(json::str(user, "id") != alice.id);
  check_error(first.request(http::verb::delete_, user_path(alice.id), {}, bearer(admin_secret)),
              404, "not_found");

  // The id may be taken again, by a user that starts with nothing.
  const auto again =
      first.request(http::verb::post, "/api/v1/users",
                    json::object({{"id", alice.id}, {"name", "New"}}), bearer(admin_secret));
  INFO(again.describe());
  REQUIRE(again.status == 201);
  const auto recreated = again.json();
  CHECK(json::integer(recreated, "activeStreams") == 0);
  CHECK(user_status(other, alice.id, json::str(recreated, "token")) == 200);
}

TEST_CASE("only the admin deletes a user or gives it a new token, and bad calls are refused",
          "[integration][auth][access][bad-input]") {
  stack s(two_apis_with_auth());
  http_client http(s.http_port(0));
  const account alice = create_account(http, admin_secret, "alice");
  const account bob = create_account(http, admin_secret, "bob");

  for (const account& caller : {alice, bob}) {
    CAPTURE(caller.id);
    check_error(http.request(http::verb::delete_, user_path(alice.id), {}, bearer(caller.token)),
                403, "forbidden");
    check_error(
        http.request(http::verb::post, user_path(alice.id) + "/token", {}, bearer(caller.token)),
        403, "forbidden");
  }
  check_error(http.request(http::verb::delete_, user_path(alice.id)), 401, "unauthorized");
  check_error(
      http.request(http::verb::post, user_path("nobody") + "/token", {}, bearer(admin_secret)), 404,
      "not_found");
  check_error(http.request(http::verb::delete_, user_path("nobody"), {}, bearer(admin_secret)), 404,
              "not_found");
  check_error(http.request(http::verb::post, user_path(alice.id) + "/token", R"({"token":"mine"})",
                           bearer(admin_secret)),
              400, "bad_request");
  // A body of {} is accepted, as clients that always send one do.
  CHECK(http.request(http::verb::post, user_path(alice.id) + "/token", "{}", bearer(admin_secret))
            .status == 200);
  // Nothing of the refused calls changed bob.
  CHECK(user_status(http, bob.id, bob.token) == 200);
}
