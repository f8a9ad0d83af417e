// The WebSocket of docs/design.md §4: a snapshot first, then every verdict and ended event of
// that user, on every socket of that user, and nothing of another user's.

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

void check_verdict_event(const json::value& m, std::string_view user_id, std::string_view video_id,
                         std::string_view session_id) {
  INFO("verdict event: " << json::dump(m));
  CHECK(json::str(m, "type") == "verdict");
  CHECK(json::has_string(m, "requestId"));
  CHECK(json::str(m, "userId") == user_id);
  CHECK(json::str(m, "videoId") == video_id);
  CHECK(json::str(m, "sessionId") == session_id);
  CHECK(json::has_int(m, "active"));
  CHECK(json::has_int(m, "limit"));
  REQUIRE(json::has_string(m, "verdict"));
  const auto verdict = json::str(m, "verdict");
  CHECK((verdict == "allowed" || verdict == "denied"));
  if (verdict == "allowed") CHECK(json::has_string(m, "streamId"));
  if (verdict == "denied") CHECK(json::has_string(m, "reason"));
}

}  // namespace

TEST_CASE("a user's WebSocket gets the snapshot, every verdict of that user and no other user's",
          "[integration][websocket]") {
  stack s;
  http_client http(s.http_port());
  const auto alice = create_user(http);
  const auto bob = create_user(http);
  ws_client alice_ws(s.http_port(), ws_client::target_for(alice));
  ws_client bob_ws(s.http_port(), ws_client::target_for(bob));

  const auto alice_snapshot = read_snapshot(alice_ws, alice);
  CHECK(alice_snapshot["streams"].Empty());
  CHECK(json::integer(alice_snapshot, "limit") == default_limit);
  read_snapshot(bob_ws, bob);

  // Four starts of Alice: three allowed, one denied.
  std::map<std::string, std::string> granted;  // requestId -> streamId, from the REST answers
  for (int i = 1; i <= 4; ++i) {
    const std::string request_id = "alice-req-" + std::to_string(i);
    const auto r = start(
        http, alice, start_args{}.session("alice-dev-" + std::to_string(i)).request(request_id));
    INFO(r.describe());
    REQUIRE(r.status == (i <= 3 ? 201 : 429));
    if (i <= 3) granted[request_id] = json::str(r.json()["stream"], "streamId");
  }

  std::set<std::string> seen;
  for (int i = 1; i <= 4; ++i) {
    const auto m = read_event(alice_ws);
    INFO("event " << i << " on Alice's socket: " << json::dump(m));
    REQUIRE(json::str(m, "type") == "verdict");
    const auto request_id = json::str(m, "requestId");
    REQUIRE(request_id.starts_with("alice-req-"));
    const auto n = request_id.substr(std::string("alice-req-").size());
    check_verdict_event(m, alice, video_1, "alice-dev-" + n);
    CHECK(json::integer(m, "limit") == default_limit);
    if (granted.contains(request_id)) {
      CHECK(json::str(m, "verdict") == "allowed");
      CHECK(json::str(m, "streamId") == granted[request_id]);
      CHECK(json::integer(m, "active") == std::stoi(n));
    } else {
      CHECK(json::str(m, "verdict") == "denied");
      CHECK(json::str(m, "reason") == "limit_reached");
      CHECK(json::integer(m, "active") == 3);
      CHECK_FALSE(json::has(m, "streamId"));
    }
    seen.insert(request_id);
  }
  CHECK(seen == std::set<std::string>{"alice-req-1", "alice-req-2", "alice-req-3", "alice-req-4"});

  // Bob's socket was open the whole time. Events of one publisher arrive in order, so if any of
  // Alice's four verdicts had reached Bob it would come before Bob's own verdict.
  REQUIRE(start(http, bob, start_args{}.session("bob-dev").request("bob-req-1")).status == 201);
  const auto bob_first = read_event(bob_ws);
  INFO("first event on Bob's socket: " << json::dump(bob_first));
  CHECK(json::str(bob_first, "type") == "verdict");
  CHECK(json::str(bob_first, "requestId") == "bob-req-1");
  CHECK(json::str(bob_first, "userId") == bob);

  // And the other way round: Bob's verdict did not reach Alice before her next event.
  REQUIRE(http.del(stream_path(alice, granted["alice-req-1"])).status == 204);
  const auto alice_next = read_event(alice_ws);
  INFO("next event on Alice's socket: " << json::dump(alice_next));
  CHECK(json::str(alice_next, "type") == "ended");
  CHECK(json::str(alice_next, "userId") == alice);
  CHECK(json::str(alice_next, "streamId") == granted["alice-req-1"]);
}

TEST_CASE("two WebSockets of one user both get every verdict and ended event",
          "[integration][websocket]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client tv(s.http_port(), ws_client::target_for(user));
  ws_client phone(s.http_port(), ws_client::target_for(user));
  read_snapshot(tv, user);
  read_snapshot(phone, user);

  const auto first = start(http, user, start_args{}.session("a").request("two-1"));
  REQUIRE(first.status == 201);
  REQUIRE(start(http, user, start_args{}.session("b").request("two-2")).status == 201);
  const auto stream_id = json::str(first.json()["stream"], "streamId");
  REQUIRE(http.del(stream_path(user, stream_id)).status == 204);

  for (ws_client* ws : {&tv, &phone}) {
    const auto v1 = read_event(*ws);
    const auto v2 = read_event(*ws);
    const auto ended = read_event(*ws);
    INFO(json::dump(v1) << "\n" << json::dump(v2) << "\n" << json::dump(ended));
    CHECK(json::str(v1, "requestId") == "two-1");
    CHECK(json::str(v2, "requestId") == "two-2");
    CHECK(json::str(ended, "type") == "ended");
    CHECK(json::str(ended, "streamId") == stream_id);
    CHECK(json::str(ended, "reason") == "stopped");
  }
}

TEST_CASE("a WebSocket opened later gets a snapshot of the live streams",
          "[integration][websocket]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http, 4);
  std::set<std::string> live;
  for (const char* session : {"x", "y"}) {
    const auto r = start(http, user, start_args{}.session(session));
    REQUIRE(r.status == 201);
    live.insert(json::str(r.json()["stream"], "streamId"));
  }

  ws_client ws(s.http_port(), ws_client::target_for(user));
  const auto snapshot = read_snapshot(ws, user);
  const auto ids = json::strings_of(snapshot["streams"], "streamId");
  CHECK(std::set<std::string>(ids.begin(), ids.end()) == live);
  CHECK(json::integer(snapshot, "limit") == 4);
}

TEST_CASE("start, heartbeat and stop work over the WebSocket", "[integration][websocket]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  ws.send_json(json::object({{"type", "start"},
                             {"videoId", std::string(video_3)},
                             {"sessionId", "ws-dev"},
                             {"requestId", "ws-req-1"}}));
  const auto verdict = read_verdict(ws, "ws-req-1");
  INFO("verdict: " << json::dump(verdict));
  check_verdict_event(verdict, user, video_3, "ws-dev");
  REQUIRE(json::str(verdict, "verdict") == "allowed");
  const auto stream_id = json::str(verdict, "streamId");
  REQUIRE(stream_ids(http, user) == std::vector<std::string>{stream_id});

  SECTION("a heartbeat renews the lease") {
    auto expires_at = [&] {
      const auto r = http.get(streams_path(user));
      REQUIRE(r.status == 200);
      return json::parse_iso8601_ms(json::str(r.json()[0], "expiresAt")).value_or(0);
    };
    const auto before = expires_at();
    // The renewed lease ends a lease-length after the heartbeat, so later than before as soon
    // as the clock moved on; keep beating until it shows.
    CHECK(wait_until(
        [&] {
          ws.send_json(json::object({{"type", "heartbeat"}, {"streamId", stream_id}}));
          return expires_at() > before;
        },
        10s, 200ms));
  }
  SECTION("a stop ends the stream with reason stopped") {
    ws.send_json(json::object({{"type", "stop"}, {"streamId", stream_id}}));
    const auto ended = read_ended(ws, stream_id);
    INFO("ended: " << json::dump(ended));
    CHECK(json::str(ended, "userId") == user);
    CHECK(json::str(ended, "reason") == "stopped");
    CHECK(stream_ids(http, user).empty());
  }
  SECTION("a start without a requestId gets a verdict too") {
    ws.send_json(json::object(
        {{"type", "start"}, {"videoId", std::string(video_1)}, {"sessionId", "ws-dev-2"}}));
    const auto m = ws.read_until(
        [](const json::value& v) {
          return json::has_string(v, "type") && json::str(v, "type") == "verdict" &&
                 json::has_string(v, "sessionId") && json::str(v, "sessionId") == "ws-dev-2";
        },
        10s, "the verdict of session ws-dev-2");
    CHECK(json::str(m, "verdict") == "allowed");
    CHECK_FALSE(json::str(m, "requestId").empty());
    CHECK(stream_ids(http, user).size() == 2);
  }
  SECTION("a start over the limit is denied over the WebSocket") {
    REQUIRE(start(http, user, start_args{}.session("b")).status == 201);
    REQUIRE(start(http, user, start_args{}.session("c")).status == 201);
    ws.send_json(json::object({{"type", "start"},
                               {"videoId", std::string(video_1)},
                               {"sessionId", "ws-dev-4"},
                               {"requestId", "ws-req-4"}}));
    const auto denied = read_verdict(ws, "ws-req-4");
    INFO("verdict: " << json::dump(denied));
    CHECK(json::str(denied, "verdict") == "denied");
    CHECK(json::str(denied, "reason") == "limit_reached");
    CHECK(json::integer(denied, "active") == 3);
    CHECK(json::integer(denied, "limit") == 3);
  }
}

TEST_CASE("a malformed WebSocket message leaves the connection working",
          "[integration][websocket]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  const auto bad =
      GENERATE(as<std::string>{}, "not json", R"({"type":"start"})",
               R"({"type":"launch","videoId":"v01"})", R"({"type":"stop","streamId":7})", "[]");
  CAPTURE(bad);
  ws.send_json(bad);
  ws.send_json(json::object(
      {{"type", "start"}, {"videoId", std::string(video_1)}, {"requestId", "after-bad"}}));
  const auto verdict = read_verdict(ws, "after-bad");
  CHECK(json::str(verdict, "verdict") == "allowed");
  CHECK(http.get("/health").status == 200);
}

TEST_CASE("a WebSocket message of 16 KiB is read and a larger one closes its socket undecided",
          "[integration][websocket][bad-input]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);
  // A start padded with blanks before its closing brace to exactly `size` bytes: JSON allows
  // them, so the two messages differ by their size alone.
  const auto start_of_size = [](std::size_t size, const std::string& request_id) {
    std::string text = json::object(
        {{"type", "start"}, {"videoId", std::string(video_1)}, {"requestId", request_id}});
    text.insert(text.size() - 1, size - text.size(), ' ');
    return text;
  };

  ws.send_json(start_of_size(16 * 1024, "at-limit"));
  CHECK(json::str(read_verdict(ws, "at-limit"), "verdict") == "allowed");
  ws.send_json(start_of_size(16 * 1024 + 1, "over-limit"));
  CHECK(ws.wait_closed(10s));
  CHECK(http.get("/health").status == 200);
  CHECK(stream_ids(http, user).size() == 1);
}

TEST_CASE("a WebSocket for an unknown or missing user is refused", "[integration][websocket]") {
  stack s;
  SECTION("unknown user: the upgrade is refused with 404, or an error not_found and a close") {
    // A browser never sees the status of a refused upgrade, so saying it in-band is as good.
    const auto target = ws_client::target_for("nobody-here");
    const int status = ws_upgrade_status(s.http_port(), target);
    CHECK((status == 404 || status == 101));
    if (status == 101) {
      ws_client ws(s.http_port(), target);
      const auto m = ws.read_json();
      INFO("first message: " << json::dump(m));
      CHECK(json::str(m, "type") == "error");
      REQUIRE(json::has_object(m, "error"));
      CHECK(json::str(m["error"], "code") == "not_found");
      CHECK(ws.wait_closed(10s));
      CHECK(ws.close_code() == 1008);  // policy violation: retrying will not help
    }
  }
  SECTION("no user: 400") { CHECK(ws_upgrade_status(s.http_port(), "/ws") == 400); }
  SECTION("an invalid user id: 400") {
    CHECK(ws_upgrade_status(s.http_port(), "/ws?user=bad%20id") == 400);
  }
  http_client http(s.http_port());
  CHECK(http.get("/health").status == 200);
}

TEST_CASE("an upgrade with a malformed key, a repeated user or another version is refused",
          "[integration][websocket][bad-input]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  const std::string key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
  const std::string v13 = "Sec-WebSocket-Version: 13\r\n";
  const auto [query, headers, status] = GENERATE_COPY(table<std::string, std::string, int>({
      {"user=" + user, key + v13, 101},
      {"user=" + user, "Sec-WebSocket-Key: abc\r\n" + v13, 400},
      {"user=" + user, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=A\r\n" + v13, 400},
      {"user=" + user, key + key + v13, 400},
      {"user=" + user, v13, 400},
      {"user=" + user + "&user=" + user, key + v13, 400},
      {"user=" + user + "&user=someone-else", key + v13, 400},
      // RFC 6455 §4.2.2: no version is a malformed handshake; another one is 426 naming 13.
      {"user=" + user, key, 400},
      {"user=" + user, key + v13 + v13, 400},
      {"user=" + user, key + "Sec-WebSocket-Version: 8\r\n", 426},
      {"user=" + user, key + "Sec-WebSocket-Version: 13, 8\r\n", 426},
  }));
  CAPTURE(query, headers);
  const auto r = raw_exchange(s.http_port(), "GET /ws?" + query + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                                                 std::to_string(s.http_port()) +
                                                 "\r\nUpgrade: websocket\r\nConnection: "
                                                 "Upgrade\r\n" +
                                                 headers + "\r\n");
  REQUIRE(r.has_value());
  INFO(r->describe());
  if (status == 101) {
    CHECK(r->status == 101);
  } else if (status == 426) {
    check_error(*r, 426, "upgrade_required");
    CHECK(r->header("Sec-WebSocket-Version") == "13");
  } else {
    check_error(*r, status, "bad_request");
  }
}

TEST_CASE("every verdict reaches the user's WebSockets on every api", "[integration][websocket]") {
  stack s(stack_options{}.apis(2));
  http_client http0(s.http_port(0));
  http_client http1(s.http_port(1));
  const auto user = create_user(http0);
  ws_client on0(s.http_port(0), ws_client::target_for(user));
  ws_client on1(s.http_port(1), ws_client::target_for(user));
  read_snapshot(on0, user);
  read_snapshot(on1, user);

  REQUIRE(start(http0, user, start_args{}.session("a").request("via-api-0")).status == 201);
  REQUIRE(start(http1, user, start_args{}.session("b").request("via-api-1")).status == 201);
  for (ws_client* ws : {&on0, &on1}) {
    CHECK(json::str(read_event(*ws), "requestId") == "via-api-0");
    CHECK(json::str(read_event(*ws), "requestId") == "via-api-1");
  }
  // The streams started through either api are one user's: the limit holds across apis.
  REQUIRE(start(http1, user, start_args{}.session("c")).status == 201);
  CHECK(start(http0, user, start_args{}.session("d")).status == 429);
}
