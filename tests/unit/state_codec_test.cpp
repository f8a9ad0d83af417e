#include "worker/store/state_codec.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

namespace streamgate {
namespace {

constexpr std::int64_t t0 = 1'700'000'000'000;

core::user_state bare_user() {
  core::user_state state;
  state.u.id = "u1";
  state.u.name = "Ann";
  return state;
}

// A user with every optional field set, live streams (one of them, impossibly, naming another
// owner) and allowed, over-limit and denied remembered starts (which encode_state leaves out:
// they are kept beside the state, each by encode_start).
core::user_state rich_user() {
  core::user_state state;
  state.u.id = "alice";
  state.u.name = "Alice Liddell";
  state.u.max_streams = 3;
  state.u.policy_override = policy::monitor;
  state.u.plan = "family";
  state.u.token_hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
  state.streams = {
      {"s_0123456789abcdef0123456789abcdef", "alice", "v01", "phone", t0, t0 + 90'000},
      {"s_fedcba9876543210fedcba9876543210", "alice", "v02", "", t0 + 5, t0 + 95'005},
      {"s_x", "bob", "v03", "tv", t0 + 7, t0 - 1},
  };
  state.starts = {
      {"r1", "v01", "phone", t0, true, false, "s_0123456789abcdef0123456789abcdef", t0 + 90'000, "",
       1, 3},
      {"r2", "v02", "", t0 + 5, true, true, "s_fedcba9876543210fedcba9876543210", t0 + 95'005, "",
       4, 3},
      {"r3", "v09", "tablet", t0 + 6, false, false, "", 0, "unknown_video", 2, 3},
      {"r4", "v01", "tablet", t0 + 8, false, false, "", 0, "limit_reached", 3, 3},
  };
  state.seq = 1'234'567;
  return state;
}

// Values at the ends of every integer's range, where a varint or a difference could overflow.
core::user_state extreme_user() {
  constexpr auto min64 = std::numeric_limits<std::int64_t>::min();
  constexpr auto max64 = std::numeric_limits<std::int64_t>::max();
  constexpr auto min_int = std::numeric_limits<int>::min();
  constexpr auto max_int = std::numeric_limits<int>::max();
  core::user_state state;
  state.u = {"x", std::string(300, 'n'), min_int, policy::deny, "", ""};
  state.streams = {{"s", "", "v", "d", max64, min64}, {"t", "x", "v", "d", min64, max64}};
  state.starts = {
      {"r", "v", "d", min64, true, true, "s", max64, "", min_int, max_int},
      {"q", "v", "d", max64, false, true, "", min64, std::string(200, 'r'), max_int, min_int}};
  state.seq = std::numeric_limits<std::uint64_t>::max();
  return state;
}

core::user_state evicting_user() {
  core::user_state state = bare_user();
  state.u.policy_override = policy::evict_oldest;
  state.u.plan = "basic";
  state.streams = {{"s1", "u1", "v1", "d1", 0, 0}};
  return state;
}

}  // namespace

TEST_CASE("a user state survives encoding and decoding unchanged", "[state_codec]") {
  auto [name, original, version] = GENERATE(table<std::string, core::user_state, std::uint64_t>({
      {"bare user", bare_user(), 1},
      {"rich user", rich_user(), 42},
      {"extreme values", extreme_user(), std::numeric_limits<std::uint64_t>::max()},
      {"evicting user with a plan", evicting_user(), 7},
      {"empty user", core::user_state{}, 0},
  }));
  CAPTURE(name);

  const std::string bytes = encode_state(original);
  const auto decoded = decode_state(bytes, version);
  REQUIRE(decoded.has_value());
  core::user_state expected = original;
  expected.version = version;
  expected.starts.clear();
  CHECK(*decoded == expected);
}

TEST_CASE("a remembered start survives encoding and decoding unchanged", "[state_codec]") {
  for (const core::user_state& state : {rich_user(), extreme_user()}) {
    for (const core::remembered_start& start : state.starts) {
      CAPTURE(start.request_id);
      const auto decoded = decode_start(encode_start(start));
      REQUIRE(decoded.has_value());
      CHECK(*decoded == start);
    }
  }
}

TEST_CASE("a truncated, extended or unknown remembered start is refused", "[state_codec]") {
  const std::string bytes = encode_start(rich_user().starts[0]);
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    CAPTURE(size);
    const auto decoded = decode_start(std::string_view(bytes).substr(0, size));
    REQUIRE_FALSE(decoded.has_value());
    CHECK_THAT(decoded.error().message, Catch::Contains("truncated"));
  }
  const auto extended = decode_start(bytes + '\0');
  REQUIRE_FALSE(extended.has_value());
  CHECK_THAT(extended.error().message, Catch::Contains("1 trailing bytes"));
  const auto unknown = decode_start("\x02" + bytes.substr(1));
  REQUIRE_FALSE(unknown.has_value());
  CHECK_THAT(unknown.error().message, Catch::Contains("unknown remembered start encoding version 2"));
}

TEST_CASE("a state of encoding version 1 gives back the starts it held", "[state_codec]") {
  // What a worker before schema 5 wrote: alice, one live stream, an allowed and a denied start.
  const std::string v1(
      "\x01\x05\x61\x6c\x69\x63\x65\x05\x41\x6c\x69\x63\x65\x00\x00\x01\x03\x73\x5f\x31"
      "\x00\x02\x76\x31\x02\x74\x76\xd0\x0f\xa0\xfe\x0a\x02\x09\x72\x2d\x61\x6c\x6c\x6f"
      "\x77\x65\x64\x02\x76\x31\x02\x74\x76\xd0\x0f\x01\x03\x73\x5f\x31\xa0\xfe\x0a\x00"
      "\x02\x06\x08\x72\x2d\x64\x65\x6e\x69\x65\x64\x02\x76\x31\x05\x70\x68\x6f\x6e\x65"
      "\xa0\x1f\x00\x00\x00\x0d\x6c\x69\x6d\x69\x74\x5f\x72\x65\x61\x63\x68\x65\x64\x06"
      "\x06\x02",
      102);
  const auto decoded = decode_state(v1, 3);
  REQUIRE(decoded.has_value());
  CHECK(decoded->u.id == "alice");
  CHECK(decoded->streams.size() == 1);
  CHECK(decoded->seq == 2);
  REQUIRE(decoded->starts.size() == 2);
  const core::remembered_start allowed{"r-allowed", "v1", "tv", 1000, true, false, "s_1", 91000,
                                       "", 1, 3};
  const core::remembered_start denied{"r-denied", "v1", "phone", 2000, false, false, "", 0,
                                      "limit_reached", 3, 3};
  CHECK(decoded->starts[0] == allowed);
  CHECK(decoded->starts[1] == denied);
  // Written again, it is version 2 and holds no start.
  const std::string again = encode_state(*decoded);
  CHECK(again[0] == 2);
  CHECK(decode_state(again, 3)->starts.empty());
}

TEST_CASE("a user state encodes compactly", "[state_codec]") {
  // The lease and the stream's owner cost a few bytes, not a second clock and a second id.
  core::user_state one_stream = bare_user();
  const std::size_t bare = encode_state(one_stream).size();
  one_stream.streams = {
      {"s_0123456789abcdef0123456789abcdef", "u1", "v01", "phone", t0, t0 + 90'000}};
  CHECK(encode_state(one_stream).size() - bare <= 34 + 1 + 4 + 6 + 1 + 6 + 3);
  CHECK(encode_state(one_stream)[0] == 2);  // the encoding version comes first
}

TEST_CASE("every truncation of an encoded user state is refused", "[state_codec]") {
  const std::string bytes = encode_state(rich_user());
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    CAPTURE(size);
    const auto decoded = decode_state(std::string_view(bytes).substr(0, size), 1);
    REQUIRE_FALSE(decoded.has_value());
    CHECK(decoded.error().code == error_code::bad_request);
    CHECK_THAT(decoded.error().message, Catch::Contains("truncated"));
  }
}

TEST_CASE("bytes after an encoded user state are refused", "[state_codec]") {
  const std::string bytes = encode_state(rich_user()) + '\0';
  const auto decoded = decode_state(bytes, 1);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == error_code::bad_request);
  CHECK_THAT(decoded.error().message, Catch::Contains("1 trailing bytes"));
}

TEST_CASE("a malformed user state is refused with what is wrong", "[state_codec]") {
  const std::string good = encode_state(bare_user());
  // bare_user: [version][2 u 1][3 A n n][flags][0 token][0 streams][0 seq]
  const std::size_t flags_at = 1 + 3 + 4;
  REQUIRE(good.size() == flags_at + 4);

  auto [name, bytes, expected] = GENERATE_REF(table<std::string, std::string, std::string>({
      {"unknown encoding version", "\x03" + good.substr(1),
       "unknown user state encoding version 3"},
      {"empty input", "", "truncated"},
      {"unknown user flag", good.substr(0, flags_at) + "\x08" + good.substr(flags_at + 1),
       "unknown user field flags 8"},
      {"policy out of range", good.substr(0, flags_at) + "\x02\x03" + good.substr(flags_at + 1),
       "unknown policy 3"},
      {"max_streams beyond an int",
       good.substr(0, flags_at) + "\x01\x80\x80\x80\x80\x10" + good.substr(flags_at + 1),
       "max_streams 2147483648 is out of range"},
      {"a varint of 11 bytes",
       good.substr(0, good.size() - 1) + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f",
       "over 64 bits"},
      {"a stream count larger than the input", good.substr(0, good.size() - 2) + "\x05\x00",
       "truncated"},
      {"a string longer than the input", good.substr(0, 1) + "\x7f" + good.substr(2), "truncated"},
  }));
  CAPTURE(name);

  const auto decoded = decode_state(bytes, 1);
  REQUIRE_FALSE(decoded.has_value());
  CHECK(decoded.error().code == error_code::bad_request);
  CHECK_THAT(decoded.error().message, Catch::Contains(expected));
}

}  // namespace streamgate
