// The limit (docs/design.md §2): three streams allowed, the fourth denied; a sessionId asked
// again is the same stream; a requestId replayed is the same verdict.

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "helpers.hpp"
#include "stack.hpp"

using namespace streamgate::it;

TEST_CASE("three starts are allowed and the fourth is denied with limit_reached",
          "[integration][limit]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);

  std::vector<std::string> granted;
  for (int i = 1; i <= 3; ++i) {
    const std::string request_id = "req-" + std::to_string(i);
    const auto r =
        start(http, user, start_args{}.session("device-" + std::to_string(i)).request(request_id));
    INFO("start " << i << ": " << r.describe());
    REQUIRE(r.status == 201);
    CHECK(r.has_json_content_type());
    const auto body = r.json();
    check_allowed_body(body, request_id, i, default_limit);
    CHECK(json::str(body["stream"], "userId") == user);
    CHECK(json::str(body["stream"], "sessionId") == "device-" + std::to_string(i));
    granted.push_back(json::str(body["stream"], "streamId"));
  }
  CHECK(std::set<std::string>(granted.begin(), granted.end()).size() == 3);

  const auto denied = start(
      http, user, start_args{}.video(std::string(video_4)).session("device-4").request("req-4"));
  INFO("fourth start: " << denied.describe());
  REQUIRE(denied.status == 429);
  CHECK(denied.has_json_content_type());
  const auto body = denied.json();
  CHECK(json::str(body, "requestId") == "req-4");
  CHECK(json::str(body, "verdict") == "denied");
  CHECK(json::str(body, "reason") == "limit_reached");
  CHECK(json::integer(body, "active") == 3);
  CHECK(json::integer(body, "limit") == 3);
  CHECK_FALSE(json::has(body, "stream"));
  REQUIRE(json::has_array(body, "streams"));
  for (const auto& st : body["streams"].GetArray()) check_stream_shape(st);
  auto in_use = json::strings_of(body["streams"], "streamId");
  std::sort(in_use.begin(), in_use.end());
  auto expected = granted;
  std::sort(expected.begin(), expected.end());
  CHECK(in_use == expected);

  auto listed = stream_ids(http, user);
  std::sort(listed.begin(), listed.end());
  CHECK(listed == expected);
  const auto u = http.get(user_path(user));
  REQUIRE(u.status == 200);
  CHECK(json::integer(u.json(), "activeStreams") == 3);
}

TEST_CASE("a start with an active sessionId returns the same stream and takes no slot",
          "[integration][limit]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);

  const auto first = start(http, user, start_args{}.session("living-room").request("req-a"));
  INFO("first: " << first.describe());
  REQUIRE(first.status == 201);
  const auto stream_id = json::str(first.json()["stream"], "streamId");

  SECTION("asking again with the same sessionId") {
    const auto again = start(http, user, start_args{}.session("living-room").request("req-b"));
    INFO("again: " << again.describe());
    REQUIRE(again.status == 201);
    check_allowed_body(again.json(), "req-b", 1, default_limit);
    CHECK(json::str(again.json()["stream"], "streamId") == stream_id);
    CHECK(stream_ids(http, user) == std::vector<std::string>{stream_id});
  }
  SECTION("asking again with the same sessionId while at the limit is still allowed") {
    REQUIRE(start(http, user, start_args{}.session("phone")).status == 201);
    REQUIRE(start(http, user, start_args{}.session("tablet")).status == 201);
    const auto again = start(http, user, start_args{}.session("living-room").request("req-c"));
    INFO("again at the limit: " << again.describe());
    REQUIRE(again.status == 201);
    check_allowed_body(again.json(), "req-c", 3, default_limit);
    CHECK(json::str(again.json()["stream"], "streamId") == stream_id);
    CHECK(stream_ids(http, user).size() == 3);
    // And the limit still holds for a new device.
    CHECK(start(http, user, start_args{}.session("laptop")).status == 429);
  }
  SECTION("a start without a sessionId is a playback of its own") {
    const auto a = start(http, user, start_args{});
    const auto b = start(http, user, start_args{});
    INFO(a.describe() << "\n" << b.describe());
    REQUIRE(a.status == 201);
    REQUIRE(b.status == 201);
    CHECK(json::str(a.json()["stream"], "streamId") != json::str(b.json()["stream"], "streamId"));
    CHECK(stream_ids(http, user).size() == 3);
  }
}

TEST_CASE("a replayed requestId gets the original verdict and never a second decision",
          "[integration][limit]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);

  const auto original = start(http, user, start_args{}.session("s-1").request("req-replay-1"));
  INFO("original: " << original.describe());
  REQUIRE(original.status == 201);
  const auto stream_id = json::str(original.json()["stream"], "streamId");

  SECTION("the same request again") {
    const auto replay = start(http, user, start_args{}.session("s-1").request("req-replay-1"));
    INFO("replay: " << replay.describe());
    REQUIRE(replay.status == 201);
    check_allowed_body(replay.json(), "req-replay-1", 1, default_limit);
    CHECK(json::str(replay.json()["stream"], "streamId") == stream_id);
    CHECK(stream_ids(http, user) == std::vector<std::string>{stream_id});
  }
  SECTION("the same requestId with another sessionId is still the original verdict") {
    const auto replay = start(http, user, start_args{}.session("s-other").request("req-replay-1"));
    INFO("replay: " << replay.describe());
    REQUIRE(replay.status == 201);
    CHECK(json::str(replay.json()["stream"], "streamId") == stream_id);
    CHECK(json::str(replay.json()["stream"], "sessionId") == "s-1");
    CHECK(stream_ids(http, user) == std::vector<std::string>{stream_id});
  }
  SECTION("a denied request stays denied after a slot frees up") {
    REQUIRE(start(http, user, start_args{}.session("s-2")).status == 201);
    REQUIRE(start(http, user, start_args{}.session("s-3")).status == 201);
    const auto denied = start(http, user, start_args{}.session("s-4").request("req-denied"));
    INFO("denied: " << denied.describe());
    REQUIRE(denied.status == 429);
    REQUIRE(http.del(stream_path(user, stream_id)).status == 204);

    const auto replay = start(http, user, start_args{}.session("s-4").request("req-denied"));
    INFO("replay: " << replay.describe());
    CHECK(replay.status == 429);
    CHECK(json::str(replay.json(), "verdict") == "denied");
    CHECK(json::str(replay.json(), "reason") == "limit_reached");
    CHECK(stream_ids(http, user).size() == 2);
    // A new request is a new decision, and now there is room.
    CHECK(start(http, user, start_args{}.session("s-4").request("req-new")).status == 201);
  }
  SECTION("GET /api/v1/requests/{id} returns the verdict, allowed or denied") {
    const auto r = http.get("/api/v1/requests/req-replay-1");
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    check_allowed_body(r.json(), "req-replay-1", 1, default_limit);
    CHECK(json::str(r.json()["stream"], "streamId") == stream_id);

    REQUIRE(start(http, user, start_args{}.session("s-2")).status == 201);
    REQUIRE(start(http, user, start_args{}.session("s-3")).status == 201);
    REQUIRE(start(http, user, start_args{}.session("s-4").request("req-no")).status == 429);
    const auto d = http.get("/api/v1/requests/req-no");
    INFO(d.describe());
    REQUIRE(d.status == 200);
    const auto body = d.json();
    CHECK(json::str(body, "requestId") == "req-no");
    CHECK(json::str(body, "verdict") == "denied");
    CHECK(json::str(body, "reason") == "limit_reached");
    CHECK(json::integer(body, "active") == 3);
    CHECK(json::integer(body, "limit") == 3);
    CHECK(json::array(body, "streams").Size() == 3);
  }
}

TEST_CASE("a requestId already used by another user is refused with 409 and leaks nothing",
          "[integration][limit]") {
  stack s;
  http_client http(s.http_port());
  const auto alice = create_user(http);
  const auto bob = create_user(http);

  // Alice's requestId is hers whether she chose it or the api made it (a made one is not looked
  // up when her start is decided, as no one else can hold it yet).
  const bool made = GENERATE(false, true);
  CAPTURE(made);
  const auto first = made ? start(http, alice, start_args{}.session("x"))
                          : start(http, alice, start_args{}.session("x").request("req-shared"));
  REQUIRE(first.status == 201);
  const auto alice_stream = json::str(first.json()["stream"], "streamId");
  const std::string shared = json::str(first.json(), "requestId");
  CHECK((made || shared == "req-shared"));

  const auto r = start(http, bob, start_args{}.session("x").request(shared));
  INFO(r.describe());
  check_error(r, 409, "conflict");
  // Bob never sees Alice's stream (docs/design.md §6).
  CHECK(r.body.find(alice_stream) == std::string::npos);
  CHECK(stream_ids(http, bob).empty());
  CHECK(stream_ids(http, alice) == std::vector<std::string>{alice_stream});
}
