// Made ids: valid, distinct, and a made requestId short enough to stay inline (common/ids.hpp).

#include "common/ids.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <unordered_set>

namespace streamgate {

TEST_CASE("a made requestId is a valid id of 15 characters, and no two are alike", "[ids]") {
  std::unordered_set<std::string> made;
  for (int i = 0; i < 100'000; ++i) {
    const std::string id = new_request_id();
    REQUIRE(is_valid_id(id));
    REQUIRE(id.size() == 15);
    REQUIRE(id.starts_with("r_"));
    REQUIRE(made.insert(id).second);
  }
  // Every character of the alphabet turns up in some position: the bits are all used.
  std::unordered_set<char> seen;
  for (const std::string& id : made) seen.insert(id.begin() + 2, id.end());
  CHECK(seen.size() == 64);
}

TEST_CASE("a made id is its prefix and 128 random bits in hex", "[ids]") {
  const std::string id = new_id("s_");
  CHECK(id.size() == 2 + 32);
  CHECK(is_valid_id(id));
  CHECK(id.find_first_not_of("0123456789abcdef", 2) == std::string::npos);
  CHECK(new_id("s_") != id);
}

}  // namespace streamgate
