// What clients send (common/codec/requests.cpp): REST bodies of starts and users, and WebSocket
// messages, each decoded or refused with the field named.

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <variant>

#include "codec_test_support.hpp"
#include "common/codec.hpp"

namespace streamgate::codec_test {

// ---- bodies from HTTP clients ------------------------------------------------------------------

TEST_CASE("a start body decodes with and without its optional ids", "[codec]") {
  SECTION("only videoId") {
    const auto body = decode_start_body(R"({"videoId":"v1"})");
    REQUIRE(body.has_value());
    CHECK(body->video_id == "v1");
    CHECK_FALSE(body->session_id);
    CHECK_FALSE(body->request_id);
  }
  SECTION("all fields") {
    const auto body =
        decode_start_body(R"({"videoId":"v1","sessionId":"tab-1","requestId":"r_9"})");
    REQUIRE(body.has_value());
    CHECK(body->video_id == "v1");
    CHECK(body->session_id == "tab-1");
    CHECK(body->request_id == "r_9");
  }
}

TEST_CASE("malformed start bodies are refused with the field named", "[codec]") {
  auto [input, expected] = GENERATE_REF(table<std::string, std::string>({
      {"", "body is not valid JSON"},
      {R"({"videoId":"v1")", "body is not valid JSON"},
      {R"({'videoId':'v1'})", "body is not valid JSON"},
      {"{\"videoId\":\"v\xff\"}", "body is not valid UTF-8"},
      {R"(["v1"])", "body must be a JSON object"},
      {"null", "body must be a JSON object"},
      {"{}", "missing field 'videoId'"},
      {R"({"sessionId":"s"})", "missing field 'videoId'"},
      {R"({"videoId":""})", "field 'videoId' " + bad_id},
      {R"({"videoId":")" + id_65 + R"("})", "field 'videoId' " + bad_id},
      {R"({"videoId":"a/b"})", "field 'videoId' " + bad_id},
      {"{\"videoId\":\"\xc3\xa4\"}", "field 'videoId' " + bad_id},
      {R"({"videoId":["v1"]})", "field 'videoId' " + bad_id},
      {R"({"videoId":1e999})", "body is not valid JSON"},
      {R"({"videoId":"v1","sessionId":42})", "field 'sessionId' " + bad_id},
      {R"({"videoId":"v1","requestId":"")", "body is not valid JSON"},
      {R"({"videoId":"v1","requestId":"r r"})", "field 'requestId' " + bad_id},
      {R"({"videoId":"v1","foo":true})", "unknown field 'foo'"},
      {R"({"videoId":"v1","userId":"bob"})", "unknown field 'userId'"},
      // Only the api marks a requestId as made: a client cannot skip the owner lookup.
      {R"({"videoId":"v1","requestId":"r_9","requestIdMade":true})",
       "unknown field 'requestIdMade'"},
      {R"({"videoId":"v1","x":)" + nested_17 + "}", "JSON nested deeper than 16"},
      {std::string(100000, '['), "JSON nested deeper than 16"},
  }));
  check_refused(decode_start_body(input), input, expected);
}

TEST_CASE("a create-user body decodes with its optional fields", "[codec]") {
  const auto body = decode_create_user_body(
      R"({"id":"carol","name":"Carol","maxStreams":2,"policy":"evict_oldest"})");
  REQUIRE(body.has_value());
  CHECK(same(*body, create_user_request{"carol", "Carol", 2, policy::evict_oldest}));
  const auto minimal = decode_create_user_body(R"({"name":"Dave"})");
  REQUIRE(minimal.has_value());
  CHECK(same(*minimal, create_user_request{std::nullopt, "Dave", std::nullopt, std::nullopt}));
  const auto planned = decode_create_user_body(R"({"name":"Erin","plan":"premium"})");
  REQUIRE(planned.has_value());
  CHECK(same(*planned, create_user_request{std::nullopt, "Erin", std::nullopt, std::nullopt,
                                           std::nullopt, "premium"}));
}

TEST_CASE("every policy name is accepted where a policy is", "[codec]") {
  const auto [name, expected] = GENERATE(table<std::string, policy>({
      {"deny", policy::deny},
      {"evict_oldest", policy::evict_oldest},
      {"monitor", policy::monitor},
  }));
  CAPTURE(name);
  const std::string field = R"("policy":")" + name + '"';
  const auto created = decode_create_user_body(R"({"name":"Ann",)" + field + "}");
  REQUIRE(created.has_value());
  CHECK(created->policy_override == expected);
  const auto patched = decode_patch_user_body("{" + field + "}", "ann");
  REQUIRE(patched.has_value());
  CHECK(patched->policy_override == expected);
  const auto wire = decode_request(R"({"op":"patch_user","corr":1,"userId":"ann",)" + field + "}");
  REQUIRE(wire.has_value());
  CHECK(std::get<patch_user_request>(wire->body).policy_override == expected);
  const auto c =
      decode_catalog(R"({"plans":[{"id":"p","maxStreams":1,)" + field +
                     R"(}],"users":[{"id":"u","name":"U",)" + field + R"(}],"videos":[]})");
  REQUIRE(c.has_value());
  CHECK(c->plans.at(0).limit_policy == expected);
  CHECK(c->users.at(0).policy_override == expected);
}

TEST_CASE("malformed create-user bodies are refused with the field named", "[codec]") {
  auto [input, expected] = GENERATE_REF(table<std::string, std::string>({
      {"{name:1}", "body is not valid JSON"},
      {"{\"name\":\"\xc0\xaf\"}", "body is not valid UTF-8"},
      {"[]", "body must be a JSON object"},
      {"{}", "missing field 'name'"},
      {R"({"maxStreams":3})", "missing field 'name'"},
      {R"({"name":7})", "field 'name' must be a non-empty string of at most 200 bytes"},
      {R"({"name":""})", "field 'name' must be a non-empty string of at most 200 bytes"},
      {R"({"name":")" + name_201 + R"("})",
       "field 'name' must be a non-empty string of at most 200 bytes"},
      {R"({"name":"Bob","id":""})", "field 'id' " + bad_id},
      {R"({"name":"Bob","id":")" + id_65 + R"("})", "field 'id' " + bad_id},
      {R"({"name":"Bob","maxStreams":-1})", "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"name":"Bob","maxStreams":0})", "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"name":"Bob","maxStreams":1001})",
       "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"name":"Bob","maxStreams":"3"})",
       "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"name":"Bob","maxStreams":2.5})",
       "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"name":"Bob","maxStreams":1e999})", "body is not valid JSON"},
      {R"({"name":"Bob","maxStreams":null})",
       "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"name":"Bob","policy":"kick"})",
       "field 'policy' must be 'deny', 'evict_oldest' or 'monitor'"},
      {R"({"name":"Bob","policy":1})",
       "field 'policy' must be 'deny', 'evict_oldest' or 'monitor'"},
      {R"({"name":"Bob","plan":""})", "field 'plan' " + bad_id},
      {R"({"name":"Bob","plan":")" + id_65 + R"("})", "field 'plan' " + bad_id},
      {R"({"name":"Bob","plan":"gold/1"})", "field 'plan' " + bad_id},
      {R"({"name":"Bob","plan":7})", "field 'plan' " + bad_id},
      {R"({"name":"Bob","plan":null})", "field 'plan' " + bad_id},
      {R"({"name":"Bob","plans":"basic"})", "unknown field 'plans'"},
      {R"({"name":"Bob","userId":"bob"})", "unknown field 'userId'"},
      {R"({"name":"Bob","name":"Rob"})", "duplicate field 'name'"},
      {R"({"name":)" + nested_17 + "}", "JSON nested deeper than 16"},
      {std::string(100000, '['), "JSON nested deeper than 16"},
  }));
  check_refused(decode_create_user_body(input), input, expected);
}

TEST_CASE("a patch-user body takes the user id from the path", "[codec]") {
  const auto patch = decode_patch_user_body(R"({"maxStreams":4})", "bob");
  REQUIRE(patch.has_value());
  CHECK(same(*patch, patch_user_request{"bob", std::nullopt, 4, std::nullopt}));
  const auto rename = decode_patch_user_body(R"({"name":"Robert","policy":"deny"})", "bob");
  REQUIRE(rename.has_value());
  CHECK(same(*rename, patch_user_request{"bob", "Robert", std::nullopt, policy::deny}));
  const auto replan = decode_patch_user_body(R"({"plan":"basic"})", "bob");
  REQUIRE(replan.has_value());
  CHECK(
      same(*replan, patch_user_request{"bob", std::nullopt, std::nullopt, std::nullopt, "basic"}));
}

TEST_CASE("malformed patch-user bodies are refused with the field named", "[codec]") {
  auto [input, expected] = GENERATE_REF(table<std::string, std::string>({
      {"", "body is not valid JSON"},
      {"{\"name\":\"\xfe\"}", "body is not valid UTF-8"},
      {R"([{"name":"x"}])", "body must be a JSON object"},
      {"{}", "at least one of 'name', 'maxStreams', 'policy', 'plan' is required"},
      {R"({"name":""})", "field 'name' must be a non-empty string of at most 200 bytes"},
      {R"({"name":null})", "field 'name' must be a non-empty string of at most 200 bytes"},
      {R"({"maxStreams":-3})", "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"maxStreams":4294967296})", "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"policy":"Deny"})", "field 'policy' must be 'deny', 'evict_oldest' or 'monitor'"},
      {R"({"policy":"shadow"})", "field 'policy' must be 'deny', 'evict_oldest' or 'monitor'"},
      {R"({"plan":""})", "field 'plan' " + bad_id},
      {R"({"plan":"pre mium"})", "field 'plan' " + bad_id},
      {R"({"plan":["basic"]})", "field 'plan' " + bad_id},
      {R"({"name":"x","plan":null})", "field 'plan' " + bad_id},
      {R"({"id":"bob2"})", "unknown field 'id'"},
      {R"({"name":"x","extra":1})", "unknown field 'extra'"},
      {R"({"maxStreams":)" + nested_17 + "}", "JSON nested deeper than 16"},
      {std::string(100000, '['), "JSON nested deeper than 16"},
  }));
  check_refused(decode_patch_user_body(input, "bob"), input, expected);
}

TEST_CASE("a patch-user body for a malformed path id is refused", "[codec]") {
  const auto patch = decode_patch_user_body(R"({"maxStreams":4})", "a/b");
  REQUIRE_FALSE(patch.has_value());
  CHECK(patch.error().code == error_code::bad_request);
}

// ---- WebSocket client messages ---------------------------------------------------------------

TEST_CASE("each WebSocket client message decodes to its kind", "[codec]") {
  SECTION("start") {
    const auto message =
        decode_ws_client_message(R"({"type":"start","videoId":"v1","sessionId":"tab"})");
    REQUIRE(message.has_value());
    const auto* start = std::get_if<ws_start>(&*message);
    REQUIRE(start != nullptr);
    CHECK(start->body.video_id == "v1");
    CHECK(start->body.session_id == "tab");
    CHECK_FALSE(start->body.request_id);
  }
  SECTION("heartbeat") {
    const auto message = decode_ws_client_message(R"({"type":"heartbeat","streamId":"s_1"})");
    REQUIRE(message.has_value());
    const auto* heartbeat = std::get_if<ws_heartbeat>(&*message);
    REQUIRE(heartbeat != nullptr);
    CHECK(heartbeat->stream_id == "s_1");
  }
  SECTION("stop") {
    const auto message = decode_ws_client_message(R"({"streamId":"s_2","type":"stop"})");
    REQUIRE(message.has_value());
    const auto* stop = std::get_if<ws_stop>(&*message);
    REQUIRE(stop != nullptr);
    CHECK(stop->stream_id == "s_2");
  }
}

TEST_CASE("malformed WebSocket client messages are refused with the field named", "[codec]") {
  auto [input, expected] = GENERATE_REF(table<std::string, std::string>({
      {"start", "body is not valid JSON"},
      {"{\"type\":\"stop\",\"streamId\":\"\x80\"}", "body is not valid UTF-8"},
      {R"([{"type":"stop"}])", "body must be a JSON object"},
      {R"({"streamId":"s_1"})", "missing field 'type'"},
      {R"({"type":3})", "field 'type' must be a string"},
      {R"({"type":"dance"})", "unknown type 'dance'"},
      {R"({"type":"start"})", "missing field 'videoId'"},
      {R"({"type":"start","videoId":"a/b"})", "field 'videoId' " + bad_id},
      {R"({"type":"start","videoId":"v1","streamId":"s"})", "unknown field 'streamId'"},
      {R"({"type":"heartbeat"})", "missing field 'streamId'"},
      {R"({"type":"heartbeat","streamId":""})", "field 'streamId' " + bad_id},
      {R"({"type":"stop","streamId":")" + id_65 + R"("})", "field 'streamId' " + bad_id},
      {R"({"type":"stop","streamId":"s_1","videoId":"v1"})", "unknown field 'videoId'"},
      {R"({"type":"stop","streamId":1e400})", "body is not valid JSON"},
      {R"({"type":"stop","streamId":)" + nested_17 + "}", "JSON nested deeper than 16"},
      {std::string(100000, '['), "JSON nested deeper than 16"},
  }));
  check_refused(decode_ws_client_message(input), input, expected);
}

}  // namespace streamgate::codec_test
