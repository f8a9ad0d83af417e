#include "common/codec.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/clock.hpp"

namespace streamgate {
namespace {

// ---- equality of messages, field by field (the messages have no operator==) ------------------

auto fields_of(const start_request& r) {
  return std::tie(r.request_id, r.user_id, r.video_id, r.session_id);
}
auto fields_of(const heartbeat_request& r) { return std::tie(r.user_id, r.stream_id); }
auto fields_of(const stop_request& r) { return std::tie(r.user_id, r.stream_id); }
auto fields_of(const stop_all_request& r) { return std::tie(r.user_id); }
auto fields_of(const get_user_request& r) { return std::tie(r.user_id); }
auto fields_of(const list_users_request& r) { return std::tie(r.name_filter, r.after, r.limit); }
auto fields_of(const create_user_request& r) {
  return std::tie(r.id, r.name, r.max_streams, r.policy_override, r.token_hash, r.plan);
}
auto fields_of(const patch_user_request& r) {
  return std::tie(r.user_id, r.name, r.max_streams, r.policy_override, r.plan);
}
auto fields_of(const list_streams_request& r) { return std::tie(r.user_id); }
auto fields_of(const snapshot_request& r) { return std::tie(r.user_id); }
auto fields_of(const list_videos_request&) { return std::tie(); }
auto fields_of(const get_video_request& r) { return std::tie(r.video_id); }
auto fields_of(const get_request_request& r) { return std::tie(r.request_id, r.owner_id); }
auto fields_of(const ping_request&) { return std::tie(); }
auto fields_of(const list_events_request& r) { return std::tie(r.user_id, r.limit); }
auto fields_of(const authenticate_request& r) { return std::tie(r.user_id, r.token_hash); }
auto fields_of(const stats_request&) { return std::tie(); }
auto fields_of(const list_plans_request&) { return std::tie(); }
auto fields_of(const rotate_token_request& r) { return std::tie(r.user_id, r.token_hash); }
auto fields_of(const delete_user_request& r) { return std::tie(r.user_id); }
auto fields_of(const video& v) { return std::tie(v.id, v.title, v.duration_seconds); }

template <class T>
bool same(const T& a, const T& b) {
  return fields_of(a) == fields_of(b);
}

bool same(const request& a, const request& b) {
  return a.corr == b.corr && a.body.index() == b.body.index() &&
         std::visit(
             [&](const auto& left) {
               return same(left, std::get<std::decay_t<decltype(left)>>(b.body));
             },
             a.body);
}

// ---- sample values -----------------------------------------------------------------------------

constexpr std::int64_t t0 = 1795774399123;  // 2026-11-27T10:13:19.123Z

stream sample_stream(std::string stream_id, std::int64_t started_at_ms) {
  return {std::move(stream_id), "alice", "v1", "tab-1", started_at_ms, started_at_ms + 90000};
}

verdict allowed_verdict() {
  verdict v;
  v.request_id = "r_1";
  v.user_id = "alice";
  v.video_id = "v1";
  v.session_id = "tab-1";
  v.allowed = true;
  v.granted = sample_stream("s_1", t0);
  v.active = 2;
  v.limit = 3;
  v.decided_at_ms = t0;
  return v;
}

verdict denied_verdict() {
  verdict v;
  v.request_id = "r_2";
  v.user_id = "alice";
  v.video_id = "v2";
  v.session_id = "tab-4";
  v.allowed = false;
  v.active = 3;
  v.limit = 3;
  v.reason = "limit_reached";
  v.streams = {sample_stream("s_1", t0), sample_stream("s_2", t0 + 1),
               sample_stream("s_3", t0 + 2)};
  v.decided_at_ms = t0 + 5;
  return v;
}

// ---- reading what the encoders wrote
// -------------------------------------------------------------

rapidjson::Document parse(const std::string& json) {
  rapidjson::Document document;
  document.Parse(json.data(), json.size());
  REQUIRE_FALSE(document.HasParseError());
  return document;
}

std::vector<std::string> member_names(const rapidjson::Value& object) {
  REQUIRE(object.IsObject());
  std::vector<std::string> names;
  for (const auto& member : object.GetObject()) names.emplace_back(member.name.GetString());
  return names;
}

std::string text(const rapidjson::Value& object, const char* name) {
  REQUIRE(object.HasMember(name));
  REQUIRE(object[name].IsString());
  return object[name].GetString();
}

void check_stream_object(const rapidjson::Value& object, const stream& s) {
  CHECK(member_names(object) == std::vector<std::string>{"streamId", "userId", "videoId",
                                                         "sessionId", "startedAt", "expiresAt"});
  CHECK(text(object, "streamId") == s.stream_id);
  CHECK(text(object, "userId") == s.user_id);
  CHECK(text(object, "videoId") == s.video_id);
  CHECK(text(object, "sessionId") == s.session_id);
  CHECK(text(object, "startedAt") == format_iso8601(s.started_at_ms));
  CHECK(text(object, "expiresAt") == format_iso8601(s.expires_at_ms));
}

// Long inputs (100000 '[') would drown a failure report; show their start only.
std::string shown(const std::string& input) {
  return input.size() <= 80
             ? input
             : input.substr(0, 80) + "... (" + std::to_string(input.size()) + " bytes)";
}

template <class T>
void check_refused(const result<T>& decoded, const std::string& input,
                   const std::string& expected) {
  CAPTURE(shown(input), expected);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == error_code::bad_request);
  CHECK_THAT(decoded.error().message, Catch::Contains(expected));
}

const std::string bad_id = "must be an id matching [A-Za-z0-9_-]{1,64}";
const std::string nested_17 = std::string(17, '[') + std::string(17, ']');
const std::string nested_16 = std::string(15, '[') + std::string(15, ']');  // inside the object
const std::string id_65(65, 'a');
const std::string name_201(201, 'n');

}  // namespace

// ---- api <-> worker requests
// ---------------------------------------------------------------------

TEST_CASE("every request variant survives encode then decode unchanged", "[codec]") {
  const request original = GENERATE(values<request>({
      {7, start_request{"r_1", "alice", "v1", "s"}},
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
      {20, authenticate_request{"alice", "0123456789abcdef0123456789abcdef"
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
  CHECK(encode_request({9, ping_request{}}) == R"({"op":"ping","corr":9})");
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
      {R"({"op":"list_users","corr":1,"name":"","limit":3,"after":5})",
       "field 'after' " + bad_id},
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

TEST_CASE("an unknown field name is quoted short and printable", "[codec]") {
  const std::string input =
      R"({"op":"ping","corr":1,")" + std::string(500, 'k') + "\\n" + R"(":1})";
  const auto decoded = decode_request(input);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().message.size() < 100);
  CHECK(decoded.error().message.find('\n') == std::string::npos);
}

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

// ---- WebSocket client messages
// -------------------------------------------------------------------

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

// ---- demo catalog
// --------------------------------------------------------------------------------

TEST_CASE("a catalog decodes its users and videos in order", "[codec]") {
  const auto decoded = decode_catalog(R"({
    "users": [{"id": "alice", "name": "Alice"}, {"id": "bob", "name": "Bob", "maxStreams": 1}],
    "videos": [{"id": "v1", "title": "Big Buck Bunny", "durationSeconds": 596}]
  })");
  REQUIRE(decoded.has_value());
  CHECK(decoded->plans.empty());
  REQUIRE(decoded->users.size() == 2);
  CHECK(decoded->users[0] == user{"alice", "Alice", std::nullopt, std::nullopt});
  CHECK(decoded->users[1] == user{"bob", "Bob", 1, std::nullopt});
  REQUIRE(decoded->videos.size() == 1);
  CHECK(same(decoded->videos[0], video{"v1", "Big Buck Bunny", 596}));
}

TEST_CASE("a catalog's plans decode in order and its users name them", "[codec]") {
  const auto decoded = decode_catalog(R"({
    "plans": [{"id": "basic", "maxStreams": 1},
              {"id": "premium", "maxStreams": 4, "policy": "evict_oldest"},
              {"id": "trial", "maxStreams": 2, "policy": "monitor"}],
    "users": [{"id": "alice", "name": "Alice"},
              {"id": "dave", "name": "Dave", "plan": "basic"},
              {"id": "carol", "name": "Carol", "plan": "premium", "maxStreams": 5, "policy": "deny"}],
    "videos": []
  })");
  REQUIRE(decoded.has_value());
  CHECK(decoded->plans == std::vector<plan>{{"basic", 1, policy::deny},
                                            {"premium", 4, policy::evict_oldest},
                                            {"trial", 2, policy::monitor}});
  REQUIRE(decoded->users.size() == 3);
  CHECK(decoded->users[0] == user{"alice", "Alice", std::nullopt, std::nullopt});
  CHECK(decoded->users[1] == user{"dave", "Dave", std::nullopt, std::nullopt, "basic"});
  CHECK(decoded->users[2] == user{"carol", "Carol", 5, policy::deny, "premium"});
}

TEST_CASE("the demo catalog decodes, and its users use each of its plans", "[codec]") {
  std::ifstream file(std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "data" /
                     "catalog.json");
  REQUIRE(file);
  const std::string text{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  const auto decoded = decode_catalog(text);
  REQUIRE(decoded.has_value());
  CHECK(decoded->plans == std::vector<plan>{{"basic", 1, policy::deny},
                                            {"standard", 2, policy::deny},
                                            {"premium", 4, policy::deny}});
  std::set<std::string> used;
  for (const user& u : decoded->users)
    if (u.plan) used.insert(*u.plan);
  CHECK(used == std::set<std::string>{"basic", "premium", "standard"});
}

TEST_CASE("malformed catalogs are refused with the field named", "[codec]") {
  const std::string videos = R"("videos":[])";
  const std::string users = R"("users":[])";
  auto [input, expected] = GENERATE_REF(table<std::string, std::string>({
      {"{", "body is not valid JSON"},
      {"{\"users\":[{\"id\":\"a\",\"name\":\"\xff\"}],\"videos\":[]}", "body is not valid UTF-8"},
      {"[]", "body must be a JSON object"},
      {"{" + videos + "}", "missing field 'users'"},
      {"{" + users + "}", "missing field 'videos'"},
      {"{" + users + "," + videos + R"(,"extra":1})", "unknown field 'extra'"},
      {R"({"users":{},)" + videos + "}", "field 'users' must be an array"},
      {R"({"users":[1],)" + videos + "}", "field 'users[0]' must be an object"},
      {R"({"users":[{"id":"a","name":"A"},{"id":"a/b","name":"B"}],)" + videos + "}",
       "field 'users[1].id' " + bad_id},
      {R"({"users":[{"name":"A"}],)" + videos + "}", "missing field 'users[0].id'"},
      {R"({"users":[{"id":"a"}],)" + videos + "}", "missing field 'users[0].name'"},
      {R"({"users":[{"id":"a","name":""}],)" + videos + "}",
       "field 'users[0].name' must be a non-empty string of at most 200 bytes"},
      {R"({"users":[{"id":"a","name":"A","maxStreams":-1}],)" + videos + "}",
       "field 'users[0].maxStreams' must be an integer from 1 to 1000"},
      {R"({"users":[{"id":"a","name":"A","email":"a@b"}],)" + videos + "}",
       "unknown field 'users[0].email'"},
      {R"({"users":[{"id":"a","name":"A"},{"id":"a","name":"B"}],)" + videos + "}",
       "duplicate id 'a' in field 'users'"},
      {"{" + users + R"(,"videos":[{"id":"v","title":"T","durationSeconds":0}]})",
       "field 'videos[0].durationSeconds' must be an integer from 1 to 86400"},
      {"{" + users + R"(,"videos":[{"id":"v","title":"T","durationSeconds":86401}]})",
       "field 'videos[0].durationSeconds' must be an integer from 1 to 86400"},
      {"{" + users + R"(,"videos":[{"id":"v","title":"T","durationSeconds":"90"}]})",
       "field 'videos[0].durationSeconds' must be an integer from 1 to 86400"},
      {"{" + users + R"(,"videos":[{"id":"v","title":"T","durationSeconds":1e999}]})",
       "body is not valid JSON"},
      {"{" + users + R"(,"videos":[{"id":"v","title":"","durationSeconds":9}]})",
       "field 'videos[0].title' must be a non-empty string of at most 200 bytes"},
      {"{" + users + R"(,"videos":[{"id":"v","durationSeconds":9}]})",
       "missing field 'videos[0].title'"},
      {"{" + users + R"(,"videos":[{"id":"v","title":"T","durationSeconds":9},)" +
           R"({"id":"v","title":"U","durationSeconds":9}]})",
       "duplicate id 'v' in field 'videos'"},
      {"{" + users + R"(,"videos":)" + nested_17 + "}", "JSON nested deeper than 16"},
      {std::string(100000, '['), "JSON nested deeper than 16"},
      {R"({"users":[{"id":"a","name":"A","policy":"kick"}],)" + videos + "}",
       "field 'users[0].policy' must be 'deny', 'evict_oldest' or 'monitor'"},
      {R"({"users":[{"id":"a","name":"A","plan":"a b"}],)" + videos + "}",
       "field 'users[0].plan' " + bad_id},
      {R"({"users":[{"id":"a","name":"A","plan":"gold"}],)" + videos + "}",
       "field 'users[0].plan' names 'gold', which is not in field 'plans'"},
      {R"({"plans":[{"id":"basic","maxStreams":1}],)"
       R"("users":[{"id":"a","name":"A"},{"id":"b","name":"B","plan":"Basic"}],)" + videos + "}",
       "field 'users[1].plan' names 'Basic', which is not in field 'plans'"},
      {R"({"plans":{},)" + users + "," + videos + "}", "field 'plans' must be an array"},
      {R"({"plans":["basic"],)" + users + "," + videos + "}", "field 'plans[0]' must be an object"},
      {R"({"plans":[{"id":"basic"}],)" + users + "," + videos + "}",
       "missing field 'plans[0].maxStreams'"},
      {R"({"plans":[{"maxStreams":1}],)" + users + "," + videos + "}",
       "missing field 'plans[0].id'"},
      {R"({"plans":[{"id":"b/1","maxStreams":1}],)" + users + "," + videos + "}",
       "field 'plans[0].id' " + bad_id},
      {R"({"plans":[{"id":"basic","maxStreams":0}],)" + users + "," + videos + "}",
       "field 'plans[0].maxStreams' must be an integer from 1 to 1000"},
      {R"({"plans":[{"id":"basic","maxStreams":"1"}],)" + users + "," + videos + "}",
       "field 'plans[0].maxStreams' must be an integer from 1 to 1000"},
      {R"({"plans":[{"id":"basic","maxStreams":1,"policy":"kick"}],)" + users + "," + videos + "}",
       "field 'plans[0].policy' must be 'deny', 'evict_oldest' or 'monitor'"},
      {R"({"plans":[{"id":"basic","maxStreams":1,"name":"Basic"}],)" + users + "," + videos + "}",
       "unknown field 'plans[0].name'"},
      {R"({"plans":[{"id":"basic","maxStreams":1},{"id":"basic","maxStreams":2}],)" + users + "," +
           videos + "}",
       "duplicate id 'basic' in field 'plans'"},
  }));
  check_refused(decode_catalog(input), input, expected);
}

// ---- bodies and events rendered by the worker
// ----------------------------------------------------

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

TEST_CASE("an error message with invalid UTF-8 still renders valid JSON", "[codec]") {
  const std::string body = encode_error(error_code::bad_request, "bad value '\xff\xfe' here \"q\"");
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag>(body.data(), body.size());
  REQUIRE_FALSE(document.HasParseError());
  CHECK(std::string(document["error"]["message"].GetString()) ==
        "bad value '?"
        "?' here \"q\"");
}

TEST_CASE("a large body is rendered whole and the next one is not affected", "[codec]") {
  std::vector<stream> streams;
  for (int i = 0; i < 2000; ++i) streams.push_back(sample_stream("s_" + std::to_string(i), t0));
  const rapidjson::Document big = parse(encode_streams(streams));
  CHECK(big.Size() == 2000);
  CHECK(encode_pending_body("r_2") == R"({"requestId":"r_2","status":"pending"})");
}

}  // namespace streamgate

namespace streamgate {

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

}  // namespace streamgate
