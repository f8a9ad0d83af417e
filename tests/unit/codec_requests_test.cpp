// The api <-> worker messages (common/codec/requests.cpp, common/messages.cpp): every request
// round trip, its wire shape, and refusals naming the field.

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "codec_test_support.hpp"
#include "common/codec.hpp"

namespace streamgate::codec_test {

TEST_CASE("every request variant survives encode then decode unchanged", "[codec]") {
  const request original = GENERATE(values<request>({
      {7, start_request{"r_1", "alice", "v1", "s"}},
      {30, start_request{"r_2", "alice", "v1", "s", true}},
      {1, heartbeat_request{"alice", "s_1"}},
      {2, stop_request{"alice", "s_1"}},
      {3, stop_all_request{"alice"}},
      {4, get_user_request{"alice"}},
      {5, list_users_request{""}},
      {6, list_users_request{"Ali \"quoted\" \xc3\xa4"}},
      {26, list_users_request{"", "carol_9", 1}},
      {27, list_users_request{"ali", std::nullopt, 1001}},
      {8, create_user_request{std::nullopt, "Bob", std::nullopt, std::nullopt}},
      {9, create_user_request{"bob_2",
                              "B\xc3\xb6"
                              "b",
                              5, policy::evict_oldest}},
      {10, patch_user_request{"bob", "Robert", std::nullopt, std::nullopt}},
      {11, patch_user_request{"bob", std::nullopt, 1000, policy::deny}},
      {12, list_streams_request{"alice"}},
      {13, snapshot_request{"alice"}},
      {14, list_videos_request{}},
      {15, get_video_request{"v-9"}},
      {16, get_request_request{"r_1"}},
      {17, list_events_request{"alice", 1000}},
      {18, create_user_request{"carol", "Carol", std::nullopt, std::nullopt, std::string(64, 'e')}},
      {19, get_request_request{"r_1", "alice"}},
      {20, authenticate_request{"alice",
                                "0123456789abcdef0123456789abcdef"
                                "0123456789abcdef0123456789abcdef"}},
      {21, stats_request{}},
      {22, list_plans_request{}},
      {23, create_user_request{"erin", "Erin", std::nullopt, policy::monitor, std::nullopt,
                               "standard"}},
      {24, patch_user_request{"erin", std::nullopt, std::nullopt, std::nullopt, "premium"}},
      {25, patch_user_request{"erin", "Erin C", 2, policy::monitor, "basic"}},
      {28, rotate_token_request{"erin", std::string(64, 'a')}},
      {29, delete_user_request{"erin"}},
      {0, ping_request{}},
      {std::numeric_limits<std::uint64_t>::max(), ping_request{}},
      {30, ping_request{-max_clock_offset_ms}},
      {31, ping_request{max_clock_offset_ms}},
      {32, stop_all_request{"alice"}, t0},
      {33, start_request{"r_1", "alice", "v1", "s"}, std::numeric_limits<std::int64_t>::max()},
  }));
  const std::string encoded = encode_request(original);
  CAPTURE(encoded);
  const auto decoded = decode_request(encoded);
  REQUIRE(decoded.has_value());
  CHECK(same(*decoded, original));
}

TEST_CASE("a request is one object with op and corr before its fields", "[codec]") {
  CHECK(
      encode_request({7, start_request{"r_1", "alice", "v1", "s"}}) ==
      R"({"op":"start","corr":7,"requestId":"r_1","userId":"alice","videoId":"v1","sessionId":"s"})");
  // Only a made requestId is marked; a client's is not (no "requestIdMade":false on the wire).
  CHECK(
      encode_request({8, start_request{"r_2", "alice", "v1", "s", true}}) ==
      R"({"op":"start","corr":8,"requestId":"r_2","userId":"alice","videoId":"v1","sessionId":"s",)"
      R"("requestIdMade":true})");
  CHECK(encode_request({9, ping_request{}}) == R"({"op":"ping","corr":9})");
  CHECK(encode_request({9, ping_request{-250}}) == R"({"op":"ping","corr":9,"clockOffset":-250})");
  CHECK(encode_request({10, stop_all_request{"bob"}, 1'795'774'399'123}) ==
        R"({"op":"stop_all","corr":10,"deadline":1795774399123,"userId":"bob"})");
  CHECK(encode_request({1, create_user_request{std::nullopt, "Bob", std::nullopt, std::nullopt}}) ==
        R"({"op":"create_user","corr":1,"name":"Bob"})");
  CHECK(encode_request({2, list_plans_request{}}) == R"({"op":"list_plans","corr":2})");
  CHECK(encode_request(
            {3, patch_user_request{"bob", std::nullopt, std::nullopt, std::nullopt, "basic"}}) ==
        R"({"op":"patch_user","corr":3,"userId":"bob","plan":"basic"})");
  CHECK(encode_request(
            {4, create_user_request{"bob", "Bob", 2, policy::monitor, std::nullopt, "standard"}}) ==
        R"({"op":"create_user","corr":4,"id":"bob","name":"Bob","maxStreams":2,)"
        R"("policy":"monitor","plan":"standard"})");
}

TEST_CASE("a request decodes whatever the order of its members", "[codec]") {
  const auto decoded =
      decode_request(R"({"userId":"alice","corr":3,"streamId":"s_1","op":"heartbeat"})");
  REQUIRE(decoded.has_value());
  CHECK(same(*decoded, request{3, heartbeat_request{"alice", "s_1"}}));
}

TEST_CASE("malformed requests are refused with the field named", "[codec]") {
  auto [input, expected] = GENERATE_REF(table<std::string, std::string>({
      {"", "body is not valid JSON"},
      {"{", "body is not valid JSON"},
      {"nonsense", "body is not valid JSON"},
      {R"({"op":"ping","corr":1} {})", "body is not valid JSON"},
      {R"({"op":"ping","corr":1,})", "body is not valid JSON"},
      {std::string(R"({"op":"ping","corr":1})") + '\0' + "junk", "body is not valid JSON"},
      {"[]", "body must be a JSON object"},
      {R"(["op","ping"])", "body must be a JSON object"},
      {R"("ping")", "body must be a JSON object"},
      {"{\"op\":\"ping\",\"corr\":1,\"x\":\"\xff\"}", "body is not valid UTF-8"},
      {"{\"op\":\"ping\",\"corr\":1,\"x\":\"\xc3\x28\"}", "body is not valid UTF-8"},
      {"{\"op\":\"ping\",\"corr\":1,\"x\":\"\xed\xa0\x80\"}", "body is not valid UTF-8"},
      {R"({"op":"ping","corr":1,"x":"\ud800"})", "body is not valid UTF-8"},
      {R"({"corr":1})", "missing field 'op'"},
      {R"({"op":7,"corr":1})", "field 'op' must be a string"},
      {R"({"op":"dance","corr":1})", "unknown op 'dance'"},
      {R"({"op":"PING","corr":1})", "unknown op 'PING'"},
      {R"({"op":"ping"})", "missing field 'corr'"},
      {R"({"op":"ping","corr":"1"})", "field 'corr' must be an unsigned 64-bit integer"},
      {R"({"op":"ping","corr":-1})", "field 'corr' must be an unsigned 64-bit integer"},
      {R"({"op":"ping","corr":1.5})", "field 'corr' must be an unsigned 64-bit integer"},
      {R"({"op":"ping","corr":18446744073709551616})",
       "field 'corr' must be an unsigned 64-bit integer"},
      {R"({"op":"ping","corr":1e400})", "body is not valid JSON"},
      {R"({"op":"ping","corr":1,"foo":1})", "unknown field 'foo'"},
      {R"({"op":"ping","corr":1,"clockOffset":86400001})",
       "field 'clockOffset' must be an integer from -86400000 to 86400000"},
      {R"({"op":"ping","corr":1,"clockOffset":1.5})",
       "field 'clockOffset' must be an integer from -86400000 to 86400000"},
      {R"({"op":"stop_all","corr":1,"userId":"u","clockOffset":1})", "unknown field 'clockOffset'"},
      {R"({"op":"ping","corr":1,"deadline":-1})",
       "field 'deadline' must be an unsigned 64-bit integer"},
      {R"({"op":"ping","corr":1,"deadline":9223372036854775808})",
       "field 'deadline' is out of range"},
      {R"({"op":"ping","corr":1,"corr":2})", "duplicate field 'corr'"},
      {R"({"op":"heartbeat","corr":1,"userId":"u","streamId":"s","videoId":"v"})",
       "unknown field 'videoId'"},
      {R"({"op":"start","corr":1,"requestId":"r","userId":"u","videoId":"v"})",
       "missing field 'sessionId'"},
      {R"({"op":"start","corr":1,"requestId":"r","userId":"u","videoId":"","sessionId":"s"})",
       "field 'videoId' " + bad_id},
      {R"({"op":"start","corr":1,"requestId":"r","userId":"u","videoId":")" + id_65 +
           R"(","sessionId":"s"})",
       "field 'videoId' " + bad_id},
      {R"({"op":"start","corr":1,"requestId":"r","userId":"u","videoId":"a/b","sessionId":"s"})",
       "field 'videoId' " + bad_id},
      {"{\"op\":\"start\",\"corr\":1,\"requestId\":\"r\",\"userId\":\"u\",\"videoId\":\"\xc3\xa4\","
       "\"sessionId\":\"s\"}",
       "field 'videoId' " + bad_id},
      {R"({"op":"start","corr":1,"requestId":"r","userId":"u","videoId":7,"sessionId":"s"})",
       "field 'videoId' " + bad_id},
      {R"({"op":"start","corr":1,"requestId":"r","userId":"u","videoId":null,"sessionId":"s"})",
       "field 'videoId' " + bad_id},
      {R"({"op":"start","corr":1,"requestId":"r","userId":"u","videoId":"v","sessionId":"s",)"
       R"("requestIdMade":false})",
       "field 'requestIdMade' must be true when present"},
      {R"({"op":"start","corr":1,"requestId":"r","userId":"u","videoId":"v","sessionId":"s",)"
       R"("requestIdMade":"yes"})",
       "field 'requestIdMade' must be true when present"},
      {R"({"op":"heartbeat","corr":1,"userId":"u","streamId":"s","requestIdMade":true})",
       "unknown field 'requestIdMade'"},
      {R"({"op":"get_request","corr":1,"requestId":"r 1"})", "field 'requestId' " + bad_id},
      {R"({"op":"create_user","corr":1,"name":""})",
       "field 'name' must be a non-empty string of at most 200 bytes"},
      {R"({"op":"create_user","corr":1,"name":")" + name_201 + R"("})",
       "field 'name' must be a non-empty string of at most 200 bytes"},
      {R"({"op":"create_user","corr":1,"name":"\udc00"})", "field 'name' must be valid UTF-8"},
      {R"({"op":"create_user","corr":1,"name":"Bob","maxStreams":-1})",
       "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"op":"create_user","corr":1,"name":"Bob","maxStreams":0})",
       "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"op":"create_user","corr":1,"name":"Bob","maxStreams":99999999999999999999})",
       "field 'maxStreams' must be an integer from 1 to 1000"},
      {R"({"op":"create_user","corr":1,"name":"Bob","policy":"kick"})",
       "field 'policy' must be 'deny', 'evict_oldest' or 'monitor'"},
      {R"({"op":"create_user","corr":1,"id":"a/b","name":"Bob"})", "field 'id' " + bad_id},
      {R"({"op":"create_user","corr":1,"name":"Bob","plan":"gold plan"})",
       "field 'plan' " + bad_id},
      {R"({"op":"patch_user","corr":1,"userId":"bob"})",
       "at least one of 'name', 'maxStreams', 'policy', 'plan' is required"},
      {R"({"op":"patch_user","corr":1,"userId":"bob","plan":""})", "field 'plan' " + bad_id},
      {R"({"op":"patch_user","corr":1,"userId":"bob","policy":"Monitor"})",
       "field 'policy' must be 'deny', 'evict_oldest' or 'monitor'"},
      {R"({"op":"list_plans","corr":1,"plan":"basic"})", "unknown field 'plan'"},
      {R"({"op":"list_plans"})", "missing field 'corr'"},
      {R"({"op":"rotate_token","corr":1,"userId":"a","tokenHash":"abc"})", "tokenHash"},
      {R"({"op":"delete_user","corr":1})", "missing field 'userId'"},
      {R"({"op":"list_users","corr":1,"limit":3})", "missing field 'name'"},
      {R"({"op":"list_users","corr":1,"name":""})", "missing field 'limit'"},
      {R"({"op":"list_users","corr":1,"name":"","limit":0})",
       "field 'limit' must be an integer from 1 to 1001"},
      {R"({"op":"list_users","corr":1,"name":"","limit":1002})",
       "field 'limit' must be an integer from 1 to 1001"},
      {R"({"op":"list_users","corr":1,"name":"","limit":"3"})",
       "field 'limit' must be an integer from 1 to 1001"},
      {R"({"op":"list_users","corr":1,"name":"","limit":3,"after":"a b"})",
       "field 'after' " + bad_id},
      {R"({"op":"list_users","corr":1,"name":"","limit":3,"after":5})", "field 'after' " + bad_id},
      {R"({"op":"list_users","corr":1,"name":"","limit":3,"cursor":"a"})",
       "unknown field 'cursor'"},
      {R"({"op":"list_users","corr":1,"name":5,"limit":3})",
       "field 'name' must be a string of at most 200 bytes"},
      {R"({"op":"ping","corr":1,"x":)" + nested_17 + "}", "JSON nested deeper than 16"},
      {R"({"op":"ping","corr":1,"x":)" + nested_16 + "}", "unknown field 'x'"},
      {std::string(100000, '['), "JSON nested deeper than 16"},
      {std::string(100000, '{'), "body is not valid JSON"},
  }));
  check_refused(decode_request(input), input, expected);
}

TEST_CASE("a playback note survives encode then parse, and a malformed one parses as none",
          "[codec][playback]") {
  for (const playback_note& note : std::vector<playback_note>{
           playback_grant{"s_1", "alice", "v01"}, playback_end{"s_1"}, access_revoked{"alice"}}) {
    const std::string frame = encode_playback_note(note);
    CAPTURE(frame);
    CHECK(parse_playback_note(frame) == note);
  }
  CHECK(encode_playback_note(access_revoked{"alice"}) == "revoke alice");
  for (const char* bad : {"", "revoke", "revoke ", "revoke alice bob", "revoke a/b", "Revoke alice",
                          "end", "grant s_1 alice", "grant s_1 alice v01 more", "forget alice"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_playback_note(bad));
  }
}

TEST_CASE("an event position survives encode then parse, and a malformed one parses as none",
          "[codec][events]") {
  const event_position position{"l_3f9a", 18'446'744'073'709'551'615ULL};
  CHECK(encode_event_position(position) == "l_3f9a 18446744073709551615");
  CHECK(parse_event_position(encode_event_position(position)) == position);
  CHECK(parse_event_position("l_3f9a 0") == event_position{"l_3f9a", 0});
  for (const char* bad : {"", "7", "l_3f9a", "l_3f9a ", " 7", "l_3f9a 7 ", "l_3f9a  7", "l_3f9a -1",
                          "l_3f9a +7", "l_3f9a 7x", "l/3 7", "l_3f9a 18446744073709551616"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_event_position(bad));
  }
}

TEST_CASE(
    "the worker lives of a heartbeat survive encode then parse, and a malformed list parses "
    "as none",
    "[codec][events]") {
  const std::vector<std::string> lives{"l_3f9a", "l_b2", "l-9"};
  CHECK(encode_worker_lives(lives) == "l_3f9a l_b2 l-9");
  CHECK(parse_worker_lives(encode_worker_lives(lives)) == lives);
  CHECK(parse_worker_lives("") == std::vector<std::string>{});
  CHECK(parse_worker_lives("l_1") == std::vector<std::string>{"l_1"});
  std::vector<std::string> most(max_worker_lives, "l_1");
  CHECK(parse_worker_lives(encode_worker_lives(most)) == most);
  most.emplace_back("l_1");
  CHECK_FALSE(parse_worker_lives(encode_worker_lives(most)));
  for (const char* bad : {" ", "l_1 ", " l_1", "l_1  l_2", "l_1 l/2", "l_1\tl_2", "l_1 l_2 "}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_worker_lives(bad));
  }
}

}  // namespace streamgate::codec_test
