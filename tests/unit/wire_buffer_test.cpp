// The wire codec's primitives (common/wire/wire_buffer.hpp): varints, zigzag integers, strings,
// bools and bytes at their extremes, and a count that claims more than the bytes left.

#include "common/wire/wire_buffer.hpp"

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

// A namespace of its own: unity batches put this file beside wire_codec_test.cpp.
namespace streamgate::wire_buffer_test {

constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t uint64_max = std::numeric_limits<std::uint64_t>::max();

// Quotes, a backslash, two- and three-byte UTF-8 and a NUL: bytes that a text format escapes.
const std::string awkward = std::string("\"Zo\xc3\xab\" \\ \xe2\x9c\x93 ") + '\0' + "end";

TEST_CASE("the wire primitives round-trip their extremes and refuse what is not theirs", "[wire]") {
  std::string bytes;
  wire_writer w(bytes);
  w.write_signed(int64_min);
  w.write_signed(int64_max);
  w.write_signed(0);
  w.write_varint(uint64_max);
  w.write_string(awkward);
  w.write_bool(true);
  w.write_byte(0xfe);

  wire_reader r(bytes);
  std::int64_t low = 0, high = 0, zero = 1;
  std::uint64_t big = 0;
  std::string text;
  bool flag = false;
  unsigned char b = 0;
  REQUIRE(r.read_signed(low));
  REQUIRE(r.read_signed(high));
  REQUIRE(r.read_signed(zero));
  REQUIRE(r.read_varint(big));
  REQUIRE(r.read_string(text));
  REQUIRE(r.read_bool(flag));
  REQUIRE(r.read_byte(b));
  CHECK(r.at_end());
  CHECK(low == int64_min);
  CHECK(high == int64_max);
  CHECK(zero == 0);
  CHECK(big == uint64_max);
  CHECK(text == awkward);
  CHECK(flag);
  CHECK(b == 0xfe);
  CHECK_FALSE(r.read_byte(b));

  SECTION("a count may not exceed the bytes left") {
    std::size_t count = 0;
    CHECK(wire_reader(std::string_view{"\x02xy", 3}).read_count(count));
    CHECK(count == 2);
    CHECK_FALSE(wire_reader(std::string_view{"\x03xy", 3}).read_count(count));
  }
}

}  // namespace streamgate::wire_buffer_test
