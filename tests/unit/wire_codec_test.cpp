// The worker's binary wire codec (common/wire): every reply and event round trip, the tag table
// pinned, and the refusals of the strict decoder: truncations, trailing bytes, unknown versions,
// tags and enum values, lengths beyond the frame, malformed varints.

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "common/wire/wire_buffer.hpp"
#include "common/wire/worker_codec.hpp"

namespace streamgate {
namespace {

constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t uint64_max = std::numeric_limits<std::uint64_t>::max();
constexpr int int_min = std::numeric_limits<int>::min();
constexpr int int_max = std::numeric_limits<int>::max();

// Quotes, a backslash, two- and three-byte UTF-8 and a NUL: bytes that a text format escapes.
const std::string awkward = std::string("\"Zo\xc3\xab\" \\ \xe2\x9c\x93 ") + '\0' + "end";

// For CAPTURE: a frame's bytes in hex.
std::string hex(std::string_view frame) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const char c : frame) {
    const auto b = static_cast<unsigned char>(c);
    out += digits[b >> 4];
    out += digits[b & 0xf];
    out += ' ';
  }
  return out;
}

stream stream_at(std::string id, std::int64_t started_at_ms) {
  return {.stream_id = std::move(id),
          .user_id = "alice",
          .video_id = "v-\xc3\xa9t\xc3\xa9",
          .session_id = "sess \"1\"",
          .started_at_ms = started_at_ms,
          .expires_at_ms = started_at_ms + 30'000};
}

user_view full_user_view() {
  return {.u = {.id = "alice",
                .name = awkward,
                .max_streams = 3,
                .policy_override = policy::evict_oldest,
                .plan = "premium"},
          .limit = 7,
          .effective_policy = policy::monitor,
          .active = 2};
}

user_view bare_user_view() {
  return {.u = {.id = "bob", .name = "Bob", .max_streams = {}, .policy_override = {}},
          .limit = -1,
          .effective_policy = policy::evict_oldest,
          .active = int_max};
}

verdict allowed_verdict() {
  return {.request_id = "r_1",
          .user_id = "alice",
          .video_id = "v1",
          .session_id = "s_\xe2\x9c\x93",
          .allowed = true,
          .granted = stream_at("st_1", -1'000),
          .active = 3,
          .limit = 4,
          .reason = "",
          .over_limit = true,
          .streams = {},
          .decided_at_ms = int64_min};
}

verdict denied_verdict() {
  return {.request_id = "r_2",
          .user_id = "alice",
          .video_id = "v2",
          .session_id = "s 2",
          .allowed = false,
          .granted = std::nullopt,
          .active = int_min,
          .limit = int_max,
          .reason = "limit_reached",
          .over_limit = false,
          .streams = {stream_at("st_1", 1'700'000'000'000), stream_at("st_2", -5)},
          .decided_at_ms = int64_max};
}

worker_stats full_stats() {
  worker_stats s;
  s.batches = uint64_max;
  s.requests = 1ull << 40;
  for (std::size_t i = 0; i < s.cumulative.size(); ++i) s.cumulative[i] = (i + 1) * 1'000'003;
  s.active_streams = uint64_max - 1;
  s.decisions = {1, 2, 3, 4, 5, 6, 7, uint64_max};
  s.batch_time.count = uint64_max;
  s.batch_time.sum_us = 1ull << 50;
  for (std::size_t i = 0; i < s.batch_time.cumulative.size(); ++i)
    s.batch_time.cumulative[i] = (i + 1) * 7'000'001;
  s.background_step_time.count = 3;
  s.background_step_time.cumulative.back() = 3;
  return s;
}

std::vector<reply_body> sample_replies() {
  worker_stats without_active = full_stats();
  without_active.active_streams = std::nullopt;
  return {
      std::monostate{},
      error{error_code::too_many_connections, awkward},
      error{error_code::bad_request, ""},
      full_user_view(),
      bare_user_view(),
      std::vector<user_view>{},
      std::vector<user_view>{full_user_view(), bare_user_view()},
      std::vector<stream>{},
      std::vector<stream>{stream_at("st_1", int64_min), stream_at("st_2", int64_max - 30'000)},
      allowed_verdict(),
      denied_verdict(),
      lease{-1},
      lease{int64_max},
      user_snapshot{"alice", {stream_at("st_1", 42)}, 3, "epoch-\xe2\x9c\x93", uint64_max},
      user_snapshot{"bob", {}, -2, "", 1},
      video{"v1", awkward, 7'200},
      std::vector<video>{},
      std::vector<video>{video{"v1", "One", int_max}, video{"v2", "", int_min}},
      std::vector<plan>{},
      std::vector<plan>{plan{"basic", 1, policy::deny}, plan{"premium", 4, policy::monitor}},
      std::vector<audit_entry>{},
      std::vector<audit_entry>{{"alice", -7, "allowed", "st_1", "r_1", "v1", ""},
                               {"alice", int64_max, "evicted", "st_2", "", "v2", awkward}},
      full_stats(),
      without_active,
      clock_reading{1'795'774'399'123, {"l_5f0c2e9a8b7d4c3e", 1'234'567}},
      clock_reading{int64_min, {"", 0}},
  };
}

std::vector<event_body> sample_events() {
  return {
      allowed_verdict(),
      denied_verdict(),
      ended_event{"st_1", "alice", end_reason::deleted},
      ended_event{"st_\xe2\x9c\x93", "", end_reason::evicted},
      access_revoked{awkward},
  };
}

std::vector<std::string> sample_frames() {
  std::vector<std::string> frames;
  for (const reply_body& body : sample_replies()) frames.push_back(encode_reply_body(body));
  for (const event_body& body : sample_events()) frames.push_back(encode_event_body(body));
  return frames;
}

// Both decoders, since a frame of either kind must be refused by both when malformed.
bool decodes(std::string_view frame) {
  return decode_reply_body(frame).has_value() || decode_event_body(frame).has_value();
}

// A frame written by hand from its version and tag, then the primitives the test adds.
std::string frame_of(unsigned char tag, void (*fill)(wire_writer&) = nullptr) {
  std::string frame;
  wire_writer w(frame);
  w.write_byte(worker_codec_version);
  w.write_byte(tag);
  if (fill) fill(w);
  return frame;
}

std::optional<std::uint64_t> read_varint(std::string_view bytes) {
  wire_reader r(bytes);
  std::uint64_t value = 0;
  if (!r.read_varint(value) || !r.at_end()) return std::nullopt;
  return value;
}

TEST_CASE("every reply body survives encode then decode unchanged", "[wire]") {
  const reply_body original = GENERATE(from_range(sample_replies()));
  const std::string frame = encode_reply_body(original);
  CAPTURE(original.index(), hex(frame));
  const std::optional<reply_body> decoded = decode_reply_body(frame);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == original);
}

TEST_CASE("every event body survives encode then decode unchanged", "[wire]") {
  const event_body original = GENERATE(from_range(sample_events()));
  const std::string frame = encode_event_body(original);
  CAPTURE(original.index(), hex(frame));
  const std::optional<event_body> decoded = decode_event_body(frame);
  REQUIRE(decoded.has_value());
  CHECK(*decoded == original);
}

TEST_CASE("a user's token hash never travels: the user arrives without it, otherwise equal",
          "[wire]") {
  const std::string hash(64, 'c');
  user_view with_hash = full_user_view();
  with_hash.u.token_hash = hash;

  SECTION("one user") {
    const std::string frame = encode_reply_body(with_hash);
    CHECK(frame.find(hash) == std::string::npos);
    const auto decoded = decode_reply_body(frame);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == reply_body{full_user_view()});
  }
  SECTION("a page of users") {
    const std::string frame = encode_reply_body(std::vector<user_view>{with_hash, with_hash});
    CHECK(frame.find(hash) == std::string::npos);
    const auto decoded = decode_reply_body(frame);
    REQUIRE(decoded.has_value());
    CHECK(*decoded == reply_body{std::vector<user_view>{full_user_view(), full_user_view()}});
  }
}

TEST_CASE("each reply alternative's tag is pinned, whatever its place in the variant", "[wire]") {
  using row = std::pair<reply_body, unsigned char>;
  const row r = GENERATE(from_range(std::vector<row>{
      {std::monostate{}, 1},
      {error{}, 2},
      {user_view{}, 3},
      {std::vector<user_view>{}, 4},
      {std::vector<stream>{}, 5},
      {verdict{}, 6},
      {lease{}, 7},
      {user_snapshot{}, 8},
      {video{}, 9},
      {std::vector<video>{}, 10},
      {std::vector<plan>{}, 11},
      {std::vector<audit_entry>{}, 12},
      {worker_stats{}, 13},
      {clock_reading{}, 16},
  }));
  const std::string frame = encode_reply_body(r.first);
  CAPTURE(r.first.index(), hex(frame));
  REQUIRE(frame.size() >= 2);
  CHECK(static_cast<unsigned char>(frame[0]) == worker_codec_version);
  CHECK(static_cast<unsigned char>(frame[1]) == r.second);
}

TEST_CASE("each event alternative's tag is pinned, a verdict's the same as in a reply", "[wire]") {
  CHECK(static_cast<unsigned char>(encode_event_body(verdict{})[1]) == 6);
  CHECK(static_cast<unsigned char>(encode_event_body(ended_event{})[1]) == 14);
  CHECK(static_cast<unsigned char>(encode_event_body(access_revoked{})[1]) == 15);
  CHECK(decode_event_body(encode_reply_body(denied_verdict())) == event_body{denied_verdict()});
}

TEST_CASE("a lease frame is its version, its tag and its zigzag time, nothing more", "[wire]") {
  CHECK(encode_reply_body(lease{-1}) == std::string{"\x02\x07\x01"});
  CHECK(encode_reply_body(lease{64}) == std::string{"\x02\x07\x80\x01"});
}

TEST_CASE("a ping's answer is its version, its tag, its zigzag time, the worker's life and count",
          "[wire]") {
  CHECK(encode_reply_body(clock_reading{-1, {"l_1", 2}}) == std::string{"\x02\x10\x01\x03l_1\x02"});
}

TEST_CASE("every strict prefix of a frame, and a frame with one byte more, is refused", "[wire]") {
  const std::string frame = GENERATE(from_range(sample_frames()));
  CAPTURE(hex(frame));
  for (std::size_t size = 0; size < frame.size(); ++size) {
    CAPTURE(size);
    CHECK_FALSE(decodes(std::string_view(frame).substr(0, size)));
  }
  CHECK_FALSE(decodes(frame + '\0'));
  CHECK_FALSE(decodes(frame + frame));
}

TEST_CASE("a frame of another version is refused", "[wire]") {
  const unsigned char version = GENERATE(0, worker_codec_version + 1, 255);
  std::string frame = encode_reply_body(lease{5});
  frame[0] = static_cast<char>(version);
  CAPTURE(hex(frame));
  CHECK_FALSE(decode_reply_body(frame).has_value());
}

TEST_CASE("an unknown tag, or another kind's tag, is refused", "[wire]") {
  SECTION("no alternative has it") {
    const unsigned char tag = GENERATE(0, 16, 127, 255);
    CAPTURE(tag);
    CHECK_FALSE(decodes(frame_of(tag)));
  }
  SECTION("a reply tag in an event frame, an event tag in a reply frame") {
    CHECK_FALSE(decode_event_body(encode_reply_body(lease{5})).has_value());
    CHECK_FALSE(decode_reply_body(encode_event_body(access_revoked{"alice"})).has_value());
  }
}

TEST_CASE("an enum number past its last value is refused, its last value decodes", "[wire]") {
  SECTION("end_reason") {
    std::string frame = encode_event_body(ended_event{"st_1", "alice", end_reason::deleted});
    REQUIRE(decode_event_body(frame).has_value());
    frame.back() = static_cast<char>(static_cast<int>(end_reason::deleted) + 1);
    CHECK_FALSE(decode_event_body(frame).has_value());
  }
  SECTION("policy") {
    std::string frame = encode_reply_body(std::vector<plan>{plan{"p", 1, policy::monitor}});
    REQUIRE(decode_reply_body(frame).has_value());
    frame.back() = static_cast<char>(static_cast<int>(policy::monitor) + 1);
    CHECK_FALSE(decode_reply_body(frame).has_value());
  }
  SECTION("error_code") {
    std::string frame = encode_reply_body(error{error_code::upgrade_required, ""});
    REQUIRE(decode_reply_body(frame).has_value());
    frame[2] = static_cast<char>(static_cast<int>(error_code::upgrade_required) + 1);
    CHECK_FALSE(decode_reply_body(frame).has_value());
  }
}

// A user view whose max_streams presence byte is `presence`, followed by max_streams 2.
std::string user_view_frame(unsigned char presence) {
  std::string frame = frame_of(3);
  wire_writer w(frame);
  w.write_string("bob");
  w.write_string("Bob");
  w.write_byte(presence);
  w.write_signed(2);
  w.write_bool(false);  // no policy override
  w.write_bool(false);  // no plan
  w.write_signed(2);    // limit
  w.write_varint(0);    // effective policy
  w.write_signed(0);    // active
  return frame;
}

TEST_CASE("a presence byte or a bool other than 0 and 1 is refused", "[wire]") {
  SECTION("presence") {
    const auto present = decode_reply_body(user_view_frame(1));
    REQUIRE(present.has_value());
    CHECK(std::get<user_view>(*present).u.max_streams == 2);
    CHECK_FALSE(decode_reply_body(user_view_frame(2)).has_value());
    CHECK_FALSE(decode_reply_body(user_view_frame(255)).has_value());
  }
  SECTION("bool") {
    verdict v = allowed_verdict();
    v.granted.reset();
    v.allowed = true;
    std::string frame = encode_event_body(v);
    // allowed follows the version, the tag and the verdict's four short strings.
    std::size_t at = 2;
    for (const std::string& field : {v.request_id, v.user_id, v.video_id, v.session_id})
      at += 1 + field.size();
    REQUIRE(frame[at] == 1);
    frame[at] = 2;
    CHECK_FALSE(decode_event_body(frame).has_value());
  }
}

TEST_CASE("an int field beyond int's range is refused, int's bounds decode", "[wire]") {
  const auto video_frame = [](std::int64_t duration) {
    std::string frame = frame_of(9);
    wire_writer w(frame);
    w.write_string("v1");
    w.write_string("One");
    w.write_signed(duration);
    return frame;
  };
  CHECK(decode_reply_body(video_frame(int_max)) == reply_body{video{"v1", "One", int_max}});
  CHECK(decode_reply_body(video_frame(int_min)) == reply_body{video{"v1", "One", int_min}});
  CHECK_FALSE(decode_reply_body(video_frame(std::int64_t{int_max} + 1)).has_value());
  CHECK_FALSE(decode_reply_body(video_frame(std::int64_t{int_min} - 1)).has_value());
}

TEST_CASE("a list or a string claiming 2^40 elements in a few bytes is refused", "[wire]") {
  constexpr std::uint64_t huge = 1ull << 40;
  SECTION("a page of users") {
    CHECK_FALSE(decodes(frame_of(4, [](wire_writer& w) { w.write_varint(huge); })));
  }
  SECTION("streams in a verdict") {
    verdict v = denied_verdict();
    v.streams.clear();
    std::string frame = encode_event_body(v);
    // The streams' count is the byte before decided_at_ms, the last 10 bytes (int64 max).
    const std::size_t count_at = frame.size() - 11;
    REQUIRE(frame[count_at] == 0);
    std::string claimed;
    wire_writer(claimed).write_varint(huge);
    frame.replace(count_at, 1, claimed);
    CHECK_FALSE(decode_event_body(frame).has_value());
  }
  SECTION("a string") {
    CHECK_FALSE(decodes(frame_of(15, [](wire_writer& w) {
      w.write_varint(huge);
      w.write_byte('a');
    })));
  }
}

TEST_CASE("a varint of 11 bytes, beyond 64 bits or longer than needed is refused", "[wire]") {
  SECTION("the reader") {
    CHECK(read_varint(std::string(9, '\xff') + '\x01') == uint64_max);
    CHECK(read_varint(std::string{"\x00", 1}) == 0);
    CHECK_FALSE(read_varint(std::string(10, '\x80') + '\x00'));  // 11 bytes
    CHECK_FALSE(read_varint(std::string(9, '\xff') + '\x02'));   // bit 64
    CHECK_FALSE(read_varint(std::string{"\x80\x00", 2}));        // 0 in two bytes
    CHECK_FALSE(read_varint(std::string{"\xff\x00", 2}));        // 127 in two bytes
    CHECK_FALSE(read_varint(std::string{"\x80", 1}));            // truncated
  }
  SECTION("in a frame") {
    CHECK_FALSE(decodes(frame_of(7, [](wire_writer& w) {
      for (int i = 0; i < 10; ++i) w.write_byte(0x80);
      w.write_byte(0x00);
    })));
  }
}

}  // namespace
}  // namespace streamgate
