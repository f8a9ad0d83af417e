// What clients read (common/codec/views.cpp): REST bodies, WebSocket events and errors, each
// with its documented fields in order.

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "codec_test_support.hpp"
#include "common/codec.hpp"

namespace streamgate::codec_test {

TEST_CASE("the REST body of an allowed start has the stream and the counts", "[codec]") {
  const verdict v = allowed_verdict();
  const rapidjson::Document body = parse(encode_verdict_body(v));
  CHECK(member_names(body) ==
        std::vector<std::string>{"requestId", "verdict", "stream", "active", "limit"});
  CHECK(text(body, "requestId") == "r_1");
  CHECK(text(body, "verdict") == "allowed");
  check_stream_object(body["stream"], *v.granted);
  CHECK(body["active"].GetInt() == 2);
  CHECK(body["limit"].GetInt() == 3);
}

TEST_CASE("a start allowed over the limit says so, and only then", "[codec]") {
  verdict v = allowed_verdict();
  v.active = 4;
  v.limit = 3;
  v.over_limit = true;
  SECTION("the REST body") {
    const rapidjson::Document body = parse(encode_verdict_body(v));
    CHECK(member_names(body) == std::vector<std::string>{"requestId", "verdict", "stream", "active",
                                                         "limit", "overLimit"});
    REQUIRE(body["overLimit"].IsBool());
    CHECK(body["overLimit"].GetBool());
  }
  SECTION("the verdict event") {
    const rapidjson::Document event = parse(encode_verdict_event(v, 3));
    CHECK(member_names(event) ==
          std::vector<std::string>{"type", "requestId", "userId", "videoId", "sessionId", "verdict",
                                   "streamId", "active", "limit", "overLimit", "stream", "seq"});
    REQUIRE(event["overLimit"].IsBool());
    CHECK(event["overLimit"].GetBool());
  }
  SECTION("within the limit or denied it is absent") {
    v.over_limit = false;
    CHECK_FALSE(parse(encode_verdict_body(v)).HasMember("overLimit"));
    CHECK_FALSE(parse(encode_verdict_event(v, 3)).HasMember("overLimit"));
    verdict denied = denied_verdict();
    denied.over_limit = true;  // not a state the limiter makes; the renderers ignore it
    CHECK_FALSE(parse(encode_verdict_body(denied)).HasMember("overLimit"));
    CHECK_FALSE(parse(encode_verdict_event(denied, 4)).HasMember("overLimit"));
  }
}

TEST_CASE("the REST body of a denied start has the reason and the streams in use", "[codec]") {
  const verdict v = denied_verdict();
  const rapidjson::Document body = parse(encode_verdict_body(v));
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

TEST_CASE("the verdict event carries the docs/design.md §4 fields", "[codec]") {
  SECTION("allowed") {
    const verdict v = allowed_verdict();
    const rapidjson::Document event = parse(encode_verdict_event(v, 7));
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
    const rapidjson::Document event = parse(encode_verdict_event(v, 8));
    CHECK(member_names(event) == std::vector<std::string>{"type", "requestId", "userId", "videoId",
                                                          "sessionId", "verdict", "active", "limit",
                                                          "reason", "streams", "seq"});
    CHECK(text(event, "verdict") == "denied");
    CHECK(text(event, "reason") == "limit_reached");
    REQUIRE(event["streams"].Size() == 3);
    check_stream_object(event["streams"][2], v.streams[2]);
  }
}

TEST_CASE("ended and snapshot events carry their fields", "[codec]") {
  SECTION("ended") {
    const end_reason reason = GENERATE(end_reason::stopped, end_reason::expired,
                                       end_reason::evicted, end_reason::stop_all);
    const rapidjson::Document event = parse(encode_ended_event({"s_1", "alice", reason}, 9));
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
    const rapidjson::Document event = parse(encode_snapshot("alice", streams, 3, "e_1", 12));
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
    CHECK(encode_snapshot("bob", {}, 1, "e_2", 0) ==
          R"({"type":"snapshot","userId":"bob","streams":[],"limit":1,"epoch":"e_2","seq":0})");
  }
}

TEST_CASE("users, streams and videos render with their REST fields", "[codec]") {
  const user alice{"alice", "Alice \"A\" \xc3\x84", std::nullopt, std::nullopt};
  const user bob{"bob", "Bob", 1, policy::evict_oldest};
  SECTION("one user") {
    const rapidjson::Document body = parse(encode_user(alice, 3, policy::deny, 2));
    CHECK(member_names(body) ==
          std::vector<std::string>{"id", "name", "maxStreams", "policy", "activeStreams"});
    CHECK(text(body, "id") == "alice");
    CHECK(text(body, "name") == alice.name);
    CHECK(body["maxStreams"].GetInt() == 3);
    CHECK(text(body, "policy") == "deny");
    CHECK(body["activeStreams"].GetInt() == 2);
  }
  SECTION("a list of users") {
    const rapidjson::Document body =
        parse(encode_users({{&alice, 3, policy::deny, 0}, {&bob, 1, policy::evict_oldest, 1}}));
    REQUIRE(body.IsArray());
    REQUIRE(body.Size() == 2);
    CHECK(text(body[1], "id") == "bob");
    CHECK(text(body[1], "policy") == "evict_oldest");
    CHECK(encode_users({}) == "[]");
  }
  SECTION("a user with a plan names it, the effective limit and policy kept") {
    user dave{"dave", "Dave", std::nullopt, std::nullopt, "basic"};
    CHECK(encode_user(dave, 1, policy::monitor, 0) ==
          R"({"id":"dave","name":"Dave","maxStreams":1,"policy":"monitor","plan":"basic",)"
          R"("activeStreams":0})");
    const rapidjson::Document list =
        parse(encode_users({{&alice, 3, policy::deny, 0}, {&dave, 1, policy::deny, 1}}));
    CHECK_FALSE(list[0].HasMember("plan"));
    CHECK(text(list[1], "plan") == "basic");
  }
  SECTION("streams") {
    const stream s = sample_stream("s_1", t0);
    check_stream_object(parse(encode_stream(s)), s);
    const rapidjson::Document list = parse(encode_streams({s, sample_stream("s_2", t0)}));
    REQUIRE(list.Size() == 2);
    check_stream_object(list[0], s);
    CHECK(text(list[0], "startedAt") == "2026-11-27T10:13:19.123Z");
  }
  SECTION("videos") {
    const video v1{"v1", "Sintel", 888};
    const video v2{"v2", "Tears of Steel", 734};
    CHECK(encode_video(v1) == R"({"id":"v1","title":"Sintel","durationSeconds":888})");
    const rapidjson::Document list = parse(encode_videos({&v1, &v2}));
    REQUIRE(list.Size() == 2);
    CHECK(member_names(list[1]) == std::vector<std::string>{"id", "title", "durationSeconds"});
    CHECK(text(list[1], "title") == "Tears of Steel");
    CHECK(list[1]["durationSeconds"].GetInt() == 734);
  }
}

TEST_CASE("plans render with their limit and policy, in the order given", "[codec]") {
  CHECK(encode_plans({}) == "[]");
  CHECK(encode_plans({{"basic", 1, policy::deny},
                      {"premium", 4, policy::evict_oldest},
                      {"trial", 1000, policy::monitor}}) ==
        R"([{"id":"basic","maxStreams":1,"policy":"deny"},)"
        R"({"id":"premium","maxStreams":4,"policy":"evict_oldest"},)"
        R"({"id":"trial","maxStreams":1000,"policy":"monitor"}])");
}

TEST_CASE("pending, heartbeat and error bodies render as documented", "[codec]") {
  CHECK(encode_pending_body("r_1") == R"({"requestId":"r_1","status":"pending"})");
  CHECK(encode_heartbeat_body(t0) == R"({"expiresAt":"2026-11-27T10:13:19.123Z"})");
  CHECK(encode_error(error_code::not_found, "unknown user 'x'") ==
        R"({"error":{"code":"not_found","message":"unknown user 'x'"}})");
  CHECK(encode_error(bad_request("missing field 'name'")) ==
        R"({"error":{"code":"bad_request","message":"missing field 'name'"}})");
}

}  // namespace streamgate::codec_test
