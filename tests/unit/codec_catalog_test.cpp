// The demo catalog (common/codec/catalog.cpp): users, videos and plans decoded in order, the
// repository's data/catalog.json among them, and malformed catalogs refused with the field named.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "codec_test_support.hpp"
#include "common/codec.hpp"

namespace streamgate::codec_test {

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
       R"("users":[{"id":"a","name":"A"},{"id":"b","name":"B","plan":"Basic"}],)" +
           videos + "}",
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

}  // namespace streamgate::codec_test
