// What clients read (api/views), rendered from the worker's typed replies and events: REST
// bodies, WebSocket messages and errors, each with its documented fields in order.

#include "api/views/views.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codec_test_support.hpp"
#include "common/clock.hpp"

namespace streamgate::codec_test {

TEST_CASE("the REST body of an allowed start has the stream and the counts", "[views]") {
  const verdict v = allowed_verdict();
  const rapidjson::Document body = parse(render_body(v));
  CHECK(member_names(body) ==
        std::vector<std::string>{"requestId", "verdict", "stream", "active", "limit"});
  CHECK(text(body, "requestId") == "r_1");
  CHECK(text(body, "verdict") == "allowed");
  check_stream_object(body["stream"], *v.granted);
  CHECK(body["active"].GetInt() == 2);
  CHECK(body["limit"].GetInt() == 3);
}

TEST_CASE("a start allowed over the limit says so, and only then", "[views]") {
  verdict v = allowed_verdict();
  v.active = 4;
  v.limit = 3;
  v.over_limit = true;
  SECTION("the REST body") {
    const rapidjson::Document body = parse(render_body(v));
    CHECK(member_names(body) == std::vector<std::string>{"requestId", "verdict", "stream", "active",
                                                         "limit", "overLimit"});
    REQUIRE(body["overLimit"].IsBool());
    CHECK(body["overLimit"].GetBool());
  }
  SECTION("the verdict event") {
    const rapidjson::Document event = parse(render_event(v, 3, nullptr));
    CHECK(member_names(event) ==
          std::vector<std::string>{"type", "requestId", "userId", "videoId", "sessionId", "verdict",
                                   "streamId", "active", "limit", "overLimit", "stream", "seq"});
    REQUIRE(event["overLimit"].IsBool());
    CHECK(event["overLimit"].GetBool());
  }
  SECTION("within the limit or denied it is absent") {
    v.over_limit = false;
    CHECK_FALSE(parse(render_body(v)).HasMember("overLimit"));
    CHECK_FALSE(parse(render_event(v, 3, nullptr)).HasMember("overLimit"));
    verdict denied = denied_verdict();
    denied.over_limit = true;  // not a state the limiter makes; the renderers ignore it
    CHECK_FALSE(parse(render_body(denied)).HasMember("overLimit"));
    CHECK_FALSE(parse(render_event(denied, 4, nullptr)).HasMember("overLimit"));
  }
}

TEST_CASE("the REST body of a denied start has the reason and the streams in use", "[views]") {
  const verdict v = denied_verdict();
  const rapidjson::Document body = parse(render_body(v));
  CHECK(member_names(body) ==
        std::vector<std::string>{"requestId", "verdict", "reason", "active", "limit", "streams"});
  CHECK(text(body, "verdict") == "denied");
  CHECK(text(body, "reason") == "limit_reached");
  CHECK(body["active"].GetInt() == 3);
  CHECK(body["limit"].GetInt() == 3);
  REQUIRE(body["streams"].IsArray());
  REQUIRE(body["streams"].Size() == 3);
  for (rapidjson::SizeType i = 0; i < 3; ++i) check_stream_object(body["streams"][i], v.streams[i]);
}

TEST_CASE("the verdict event carries the docs/design.md §4 fields", "[views]") {
  SECTION("allowed") {
    const verdict v = allowed_verdict();
    const rapidjson::Document event = parse(render_event(v, 7, nullptr));
    CHECK(member_names(event) == std::vector<std::string>{"type", "requestId", "userId", "videoId",
                                                          "sessionId", "verdict", "streamId",
                                                          "active", "limit", "stream", "seq"});
    CHECK(text(event, "type") == "verdict");
    CHECK(text(event, "requestId") == "r_1");
    CHECK(text(event, "userId") == "alice");
    CHECK(text(event, "videoId") == "v1");
    CHECK(text(event, "sessionId") == "tab-1");
    CHECK(text(event, "verdict") == "allowed");
    CHECK(text(event, "streamId") == "s_1");
    CHECK(event["active"].GetInt() == 2);
    CHECK(event["limit"].GetInt() == 3);
    check_stream_object(event["stream"], *v.granted);
    CHECK(event["seq"].GetUint64() == 7);
  }
  SECTION("denied") {
    const verdict v = denied_verdict();
    const rapidjson::Document event = parse(render_event(v, 8, nullptr));
    CHECK(member_names(event) == std::vector<std::string>{"type", "requestId", "userId", "videoId",
                                                          "sessionId", "verdict", "active", "limit",
                                                          "reason", "streams", "seq"});
    CHECK(text(event, "verdict") == "denied");
    CHECK(text(event, "reason") == "limit_reached");
    REQUIRE(event["streams"].Size() == 3);
    check_stream_object(event["streams"][2], v.streams[2]);
  }
}

TEST_CASE("ended and snapshot events carry their fields", "[views]") {
  SECTION("ended") {
    const end_reason reason = GENERATE(end_reason::stopped, end_reason::expired,
                                       end_reason::evicted, end_reason::stop_all);
    const rapidjson::Document event =
        parse(render_event(ended_event{"s_1", "alice", reason}, 9, nullptr));
    CHECK(member_names(event) ==
          std::vector<std::string>{"type", "streamId", "userId", "reason", "seq"});
    CHECK(event["seq"].GetUint64() == 9);
    CHECK(text(event, "type") == "ended");
    CHECK(text(event, "streamId") == "s_1");
    CHECK(text(event, "userId") == "alice");
    CHECK(text(event, "reason") == std::string(to_string(reason)));
  }
  SECTION("snapshot") {
    const std::vector<stream> streams{sample_stream("s_1", t0), sample_stream("s_2", t0 + 7)};
    const rapidjson::Document event =
        parse(render_snapshot(user_snapshot{"alice", streams, 3, "e_1", 12}));
    CHECK(member_names(event) ==
          std::vector<std::string>{"type", "userId", "streams", "limit", "epoch", "seq"});
    CHECK(text(event, "epoch") == "e_1");
    CHECK(event["seq"].GetUint64() == 12);
    CHECK(text(event, "type") == "snapshot");
    CHECK(text(event, "userId") == "alice");
    REQUIRE(event["streams"].Size() == 2);
    check_stream_object(event["streams"][1], streams[1]);
    CHECK(event["limit"].GetInt() == 3);
  }
  SECTION("snapshot of a user without streams") {
    const user_snapshot bob{"bob", {}, 1, "e_2", 0};
    CHECK(render_snapshot(bob) ==
          R"({"type":"snapshot","userId":"bob","streams":[],"limit":1,"epoch":"e_2","seq":0})");
    // The worker's answer to `snapshot` is the same message.
    CHECK(render_body(bob) == render_snapshot(bob));
  }
}

TEST_CASE("a revoked event names the user and its seq", "[views]") {
  CHECK(render_event(access_revoked{"alice"}, 5, nullptr) ==
        R"({"type":"revoked","userId":"alice","seq":5})");
}

TEST_CASE("users, streams and videos render with their REST fields", "[views]") {
  const user alice{"alice", "Alice \"A\" \xc3\x84", std::nullopt, std::nullopt};
  const user bob{"bob", "Bob", 1, policy::evict_oldest};
  SECTION("one user") {
    const rapidjson::Document body = parse(render_body(user_view{alice, 3, policy::deny, 2}));
    CHECK(member_names(body) ==
          std::vector<std::string>{"id", "name", "maxStreams", "policy", "activeStreams"});
    CHECK(text(body, "id") == "alice");
    CHECK(text(body, "name") == alice.name);
    CHECK(body["maxStreams"].GetInt() == 3);
    CHECK(text(body, "policy") == "deny");
    CHECK(body["activeStreams"].GetInt() == 2);
  }
  SECTION("a list of users") {
    const rapidjson::Document body = parse(render_body(
        std::vector<user_view>{{alice, 3, policy::deny, 0}, {bob, 1, policy::evict_oldest, 1}}));
    REQUIRE(body.IsArray());
    REQUIRE(body.Size() == 2);
    CHECK(text(body[1], "id") == "bob");
    CHECK(text(body[1], "policy") == "evict_oldest");
    CHECK(render_body(std::vector<user_view>{}) == "[]");
  }
  SECTION("a user with a plan names it, the effective limit and policy kept") {
    user dave{"dave", "Dave", std::nullopt, std::nullopt, "basic"};
    CHECK(render_body(user_view{dave, 1, policy::monitor, 0}) ==
          R"({"id":"dave","name":"Dave","maxStreams":1,"policy":"monitor","plan":"basic",)"
          R"("activeStreams":0})");
    const rapidjson::Document list = parse(render_body(
        std::vector<user_view>{{alice, 3, policy::deny, 0}, {dave, 1, policy::deny, 1}}));
    CHECK_FALSE(list[0].HasMember("plan"));
    CHECK(text(list[1], "plan") == "basic");
  }
  SECTION("streams") {
    // No reply is one stream alone: a list of one shows how a stream renders.
    const stream s = sample_stream("s_1", t0);
    const rapidjson::Document one = parse(render_body(std::vector<stream>{s}));
    REQUIRE(one.Size() == 1);
    check_stream_object(one[0], s);
    const rapidjson::Document list =
        parse(render_body(std::vector<stream>{s, sample_stream("s_2", t0)}));
    REQUIRE(list.Size() == 2);
    check_stream_object(list[0], s);
    CHECK(text(list[0], "startedAt") == "2026-11-27T10:13:19.123Z");
  }
  SECTION("videos") {
    const video v1{"v1", "Sintel", 888};
    const video v2{"v2", "Tears of Steel", 734};
    CHECK(render_body(v1) == R"({"id":"v1","title":"Sintel","durationSeconds":888})");
    const rapidjson::Document list = parse(render_body(std::vector<video>{v1, v2}));
    REQUIRE(list.Size() == 2);
    CHECK(member_names(list[1]) == std::vector<std::string>{"id", "title", "durationSeconds"});
    CHECK(text(list[1], "title") == "Tears of Steel");
    CHECK(list[1]["durationSeconds"].GetInt() == 734);
  }
}

TEST_CASE("plans render with their limit and policy, in the order given", "[views]") {
  CHECK(render_body(std::vector<plan>{}) == "[]");
  CHECK(render_body(std::vector<plan>{{"basic", 1, policy::deny},
                                      {"premium", 4, policy::evict_oldest},
                                      {"trial", 1000, policy::monitor}}) ==
        R"([{"id":"basic","maxStreams":1,"policy":"deny"},)"
        R"({"id":"premium","maxStreams":4,"policy":"evict_oldest"},)"
        R"({"id":"trial","maxStreams":1000,"policy":"monitor"}])");
}

TEST_CASE("pending, heartbeat and error bodies render as documented", "[views]") {
  CHECK(render_pending("r_1") == R"({"requestId":"r_1","status":"pending"})");
  CHECK(render_body(lease{t0}) == R"({"expiresAt":"2026-11-27T10:13:19.123Z"})");
  CHECK(render_error(error_code::not_found, "unknown user 'x'") ==
        R"({"error":{"code":"not_found","message":"unknown user 'x'"}})");
  CHECK(render_error(bad_request("missing field 'name'")) ==
        R"({"error":{"code":"bad_request","message":"missing field 'name'"}})");
}

TEST_CASE("a reply without a body renders as {} and an error reply as the error body", "[views]") {
  CHECK(render_body(std::monostate{}) == "{}");
  const error e = not_found("unknown user 'x'");
  CHECK(render_body(e) == render_error(e));
}

TEST_CASE("a playback pass comes first, as playback with its token and expiry", "[views]") {
  const playback_pass pass{"tok.en", t0 + 60000};
  const std::string playback =
      R"("playback":{"token":"tok.en","expiresAt":"2026-11-27T10:14:19.123Z"})";
  SECTION("in the REST body of an allowed start") {
    const verdict v = allowed_verdict();
    const rapidjson::Document body = parse(render_body(v, &pass));
    CHECK(member_names(body) == std::vector<std::string>{"playback", "requestId", "verdict",
                                                         "stream", "active", "limit"});
    CHECK(member_names(body["playback"]) == std::vector<std::string>{"token", "expiresAt"});
    CHECK(text(body["playback"], "token") == "tok.en");
    CHECK(text(body["playback"], "expiresAt") == format_iso8601(t0 + 60000));
    CHECK(render_body(v, &pass).starts_with("{" + playback + ","));
  }
  SECTION("in the verdict event") {
    const rapidjson::Document event = parse(render_event(allowed_verdict(), 7, &pass));
    CHECK(member_names(event) == std::vector<std::string>{"playback", "type", "requestId", "userId",
                                                          "videoId", "sessionId", "verdict",
                                                          "streamId", "active", "limit", "stream",
                                                          "seq"});
    CHECK(text(event["playback"], "token") == "tok.en");
    CHECK(event["seq"].GetUint64() == 7);
  }
  SECTION("in a heartbeat's lease") {
    CHECK(render_body(lease{t0}, &pass) ==
          "{" + playback + R"(,"expiresAt":"2026-11-27T10:13:19.123Z"})");
  }
}

TEST_CASE("a start's error names its requestId first", "[views]") {
  CHECK(render_start_error(not_found("unknown user 'x'"), "r_1") ==
        R"({"requestId":"r_1","error":{"code":"not_found","message":"unknown user 'x'"}})");
}

TEST_CASE("a user's token comes first in the one body that holds it, and the hash in none",
          "[views]") {
  user dave{"dave", "Dave", std::nullopt, std::nullopt, "basic"};
  dave.token_hash = std::string(64, 'c');
  const user_view v{dave, 1, policy::monitor, 0};
  CHECK(render_user_with_token(v, "dave.secret") ==
        R"({"token":"dave.secret","id":"dave","name":"Dave","maxStreams":1,"policy":"monitor",)"
        R"("plan":"basic","activeStreams":0})");
  CHECK(render_body(v).find(dave.token_hash) == std::string::npos);
  CHECK(render_body(v).find("token") == std::string::npos);
}

TEST_CASE("a page of users renders only its first count users", "[views]") {
  const std::vector<user_view> users{{{"a", "A", std::nullopt, std::nullopt}, 2, policy::deny, 0},
                                     {{"b", "B", std::nullopt, std::nullopt}, 2, policy::deny, 1},
                                     {{"c", "C", std::nullopt, std::nullopt}, 2, policy::deny, 2}};
  const rapidjson::Document two = parse(render_users(users, 2));
  REQUIRE(two.IsArray());
  REQUIRE(two.Size() == 2);
  CHECK(text(two[0], "id") == "a");
  CHECK(text(two[1], "id") == "b");
  CHECK(render_users(users, 3) == render_body(users));
  CHECK(render_users(users, 10) == render_body(users));
  CHECK(render_users(users, 0) == "[]");
  CHECK(render_users({}, 3) == "[]");
}

TEST_CASE("a WebSocket heartbeat answer names its stream, with the playback pass when given",
          "[views]") {
  const lease l{t0};
  CHECK(render_socket_heartbeat("s_1", l, nullptr) ==
        R"({"type":"heartbeat","streamId":"s_1","expiresAt":"2026-11-27T10:13:19.123Z"})");
  const playback_pass pass{"tok.en", t0 + 60000};
  CHECK(render_socket_heartbeat("s_1", l, &pass) ==
        R"({"type":"heartbeat","streamId":"s_1",)"
        R"("playback":{"token":"tok.en","expiresAt":"2026-11-27T10:14:19.123Z"},)"
        R"("expiresAt":"2026-11-27T10:13:19.123Z"})");
}

TEST_CASE("a WebSocket error names what failed when something did", "[views]") {
  const error e{error_code::unavailable, "no worker decided this start in time"};
  CHECK(render_socket_error(e, "requestId", "r_1") ==
        R"({"type":"error","requestId":"r_1","error":{"code":"unavailable",)"
        R"("message":"no worker decided this start in time"}})");
  CHECK(render_socket_error(e) == R"({"type":"error","error":{"code":"unavailable",)"
                                  R"("message":"no worker decided this start in time"}})");
}

}  // namespace streamgate::codec_test
