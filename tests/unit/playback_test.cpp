// Playback tokens, the revocation set, playlist rewriting and byte ranges (docs/design.md §9),
// with injected times: every refusal a media route can answer, at its boundary.

#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "api/playback/byte_range.hpp"
#include "api/playback/playback_gate.hpp"
#include "api/playback/playback_token.hpp"
#include "api/playback/playlist.hpp"
#include "api/playback/revocation_set.hpp"
#include "api/playback/verified_tokens.hpp"

using namespace streamgate;
using namespace std::chrono_literals;

namespace {

const std::string key_hex(64, 'a');
const playback_grant grant{"s_1", "alice", "v01"};
constexpr std::int64_t t0 = 1'700'000'000'000;

playback_signer signer(std::string hex = key_hex, std::chrono::seconds validity = 60s) {
  return playback_signer(playback_signer::key_from_hex(hex), validity);
}

std::string token_of(const playback_gate& gate, std::int64_t now_ms) {
  return gate.pass(grant, now_ms).token;
}

error_code refusal(const playback_gate& gate, std::string_view token, std::string_view video,
                   std::int64_t now_ms) {
  const auto checked = gate.check(token, video, now_ms);
  REQUIRE_FALSE(checked.has_value());
  return checked.error().code;
}

}  // namespace

TEST_CASE("a playback token verifies only unchanged and under its own key", "[unit][playback]") {
  const playback_signer s = signer();
  const std::string token = s.sign(grant, t0, t0 + 60'000);
  const auto claims = s.verify(token);
  REQUIRE(claims);
  CHECK(claims->stream_id == "s_1");
  CHECK(claims->user_id == "alice");
  CHECK(claims->video_id == "v01");
  CHECK(claims->signed_at_ms == t0);
  CHECK(claims->expires_at_ms == t0 + 60'000);

  // Every byte matters: each one changed to another token character is refused.
  for (std::size_t i = 0; i < token.size(); ++i) {
    std::string forged = token;
    forged[i] = forged[i] == 'A' ? 'B' : 'A';
    CAPTURE(i, forged);
    CHECK_FALSE(s.verify(forged));
  }
  CHECK_FALSE(s.verify(token.substr(0, token.size() - 1)));
  CHECK_FALSE(s.verify(token + "A"));
  CHECK_FALSE(s.verify(""));
  CHECK_FALSE(s.verify("....."));
  // Signed expiring before it was signed: not a token any api makes.
  CHECK_FALSE(s.verify(s.sign(grant, t0, t0 - 1)));
  CHECK_FALSE(s.verify(token + ".x"));
  CHECK_FALSE(signer(std::string(64, 'b')).verify(token));
  // A longer validity is the same key: tokens stay valid across apis configured alike.
  CHECK(signer(key_hex, 30s).verify(token));
}

TEST_CASE("a random key is one process's alone", "[unit][playback]") {
  const playback_signer a(playback_signer::key_from_hex(""), 60s);
  const playback_signer b(playback_signer::key_from_hex(""), 60s);
  CHECK_FALSE(b.verify(a.sign(grant, t0, t0 + 60'000)));
  CHECK(a.verify(a.sign(grant, t0, t0 + 60'000)));
}

TEST_CASE("the gate refuses each way a token can be wrong, at its boundary", "[unit][playback]") {
  playback_gate gate(signer());
  const std::string token = token_of(gate, t0);  // valid until t0 + 60 s

  REQUIRE(gate.check(token, "v01", t0).has_value());
  REQUIRE(gate.check(token, "v01", t0 + 59'999).has_value());
  CHECK(refusal(gate, token, "v01", t0 + 60'000) == error_code::token_expired);
  CHECK(refusal(gate, token, "v02", t0) == error_code::wrong_video);
  CHECK(refusal(gate, token + "x", "v01", t0) == error_code::invalid_token);
  CHECK(refusal(gate, "", "v01", t0) == error_code::invalid_token);

  gate.ended("s_1", t0 + 1);
  CHECK(refusal(gate, token, "v01", t0 + 2) == error_code::stream_ended);
  // A token signed after the end (a reply that raced its own ended event) is refused too.
  CHECK(refusal(gate, token_of(gate, t0 + 5), "v01", t0 + 6) == error_code::stream_ended);
}

TEST_CASE("after a gap in what the api heard, older tokens need a heartbeat", "[unit][playback]") {
  playback_gate gate(signer());
  const std::string before = token_of(gate, t0);
  gate.distrust_until(t0 + 10);
  CHECK(refusal(gate, before, "v01", t0 + 11) == error_code::token_expired);
  CHECK(gate.check(token_of(gate, t0 + 10), "v01", t0 + 11).has_value());
}

// The worker link moves the deadline on while it hears; an api whose link stalled (the process
// frozen) serves nothing on what it heard before, until the link judges again.
TEST_CASE("media is served only until the deadline the worker link last set", "[unit][playback]") {
  playback_gate gate(signer());
  const std::string token = token_of(gate, t0);
  gate.hear_until(std::chrono::steady_clock::now() + 1h);
  CHECK(gate.check(token, "v01", t0 + 1).has_value());
  gate.hear_until(std::chrono::steady_clock::now() - 1ms);
  CHECK(refusal(gate, token, "v01", t0 + 1) == error_code::unavailable);
  // The video and the ends are judged first: what is refused for good says so.
  CHECK(refusal(gate, token, "v02", t0 + 1) == error_code::wrong_video);
}

// A black-box probe: an api whose tokens last 30 s, restarted (or next to one) whose tokens last
// 60 s, dated the other's tokens by its own validity, so one signed before it restarted passed as
// signed after, and served a stream that had ended; ends it forgot after 30 s played again.
TEST_CASE(
    "a token is dated by its own signing time, and one lasting longer than this api's is "
    "refused",
    "[unit][playback]") {
  playback_gate longer(signer(key_hex, 60s));
  playback_gate shorter(signer(key_hex, 30s));
  const std::string long_lived = token_of(longer, t0);
  shorter.distrust_until(t0 + 10);
  CHECK(refusal(shorter, long_lived, "v01", t0 + 35'000) == error_code::token_expired);
  CHECK(refusal(playback_gate(signer(key_hex, 30s)), long_lived, "v01", t0 + 1) ==
        error_code::token_expired);

  // A shorter token plays on an api of a longer validity, dated by when it was signed: after a
  // distrust it follows, not before it.
  longer.distrust_until(t0 + 10);
  CHECK(longer.check(token_of(shorter, t0 + 20), "v01", t0 + 21).has_value());
  CHECK(refusal(longer, token_of(shorter, t0 + 5), "v01", t0 + 21) == error_code::token_expired);
}

TEST_CASE(
    "a checked token is remembered only while genuine and unexpired, and cached answers "
    "change nothing",
    "[unit][playback]") {
  playback_gate gate(signer());
  const std::string token = token_of(gate, t0);  // valid until t0 + 60 s
  CHECK(refusal(gate, token + "x", "v01", t0) == error_code::invalid_token);
  CHECK(gate.remembered_tokens() == 0);  // a forgery is never remembered

  REQUIRE(gate.check(token, "v01", t0).has_value());
  CHECK(gate.remembered_tokens() == 1);
  // Remembered, and still checked against the video, the expiry and the ends every time.
  REQUIRE(gate.check(token, "v01", t0 + 1).has_value());
  CHECK(refusal(gate, token, "v02", t0 + 1) == error_code::wrong_video);
  CHECK(refusal(gate, token, "v01", t0 + 60'000) == error_code::token_expired);
  gate.ended("s_1", t0 + 2);
  CHECK(refusal(gate, token, "v01", t0 + 3) == error_code::stream_ended);
}

TEST_CASE("the memory of verified tokens is bounded and forgets expired ones", "[unit][playback]") {
  verified_tokens verified(3);
  const auto claims_until = [](std::int64_t expires) {
    return playback_claims{"s_1", "alice", "v01", t0, expires};
  };
  verified.remember("expired", claims_until(t0), t0);
  CHECK(verified.size() == 0);

  for (const char* token : {"a", "b", "c", "d"})
    verified.remember(token, claims_until(t0 + 10), t0);
  CHECK(verified.size() == 3);
  CHECK_FALSE(verified.find("a", t0));  // the oldest went first
  REQUIRE(verified.find("d", t0));
  CHECK(verified.find("d", t0)->stream_id == "s_1");
  CHECK_FALSE(verified.find("d", t0 + 10));  // at its expiry

  // Expired entries make room before live ones are dropped.
  verified.remember("e", claims_until(t0 + 100), t0 + 10);
  CHECK(verified.size() == 1);
  CHECK(verified.find("e", t0 + 10));
}

TEST_CASE("the revocation set is bounded, and never re-admits what it drops", "[unit][playback]") {
  constexpr std::int64_t retention = 1'000;
  revocation_set ends(retention, 3);
  ends.revoke("a", t0);
  ends.revoke("b", t0 + 1);
  ends.revoke("c", t0 + 2);
  CHECK(ends.check("a", t0 - 5) == revocation_set::verdict::revoked);
  CHECK(ends.check("x", t0 - 5) == revocation_set::verdict::valid);

  // Full: the oldest end (a, at t0) makes room, and every token signed before it is distrusted.
  ends.revoke("d", t0 + 3);
  CHECK(ends.size() == 3);
  CHECK(ends.check("a", t0 - 5) == revocation_set::verdict::distrusted);
  CHECK(ends.check("x", t0 - 5) == revocation_set::verdict::distrusted);
  CHECK(ends.check("x", t0) == revocation_set::verdict::valid);
  CHECK(ends.check("b", t0 + 10) == revocation_set::verdict::revoked);

  // Past its retention an end is dropped: no token of that stream can still be valid.
  ends.revoke("e", t0 + 2 + retention + 1);
  CHECK(ends.check("b", t0 + 10) == revocation_set::verdict::valid);
  CHECK(ends.check("c", t0 + 10) == revocation_set::verdict::valid);
  CHECK(ends.check("e", t0 + 10) == revocation_set::verdict::revoked);
  CHECK(ends.size() == 2);

  // A stream ended twice is remembered from its later end.
  revocation_set twice(retention, 10);
  twice.revoke("a", t0);
  twice.revoke("a", t0 + 500);
  twice.revoke("z", t0 + retention + 100);
  CHECK(twice.check("a", t0) == revocation_set::verdict::revoked);
}

TEST_CASE("a playlist carries the token on every URI", "[unit][playback]") {
  const std::string playlist =
      "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:2.0,\nseg00.ts\n#EXTINF:2.0,\r\n"
      "seg01.ts?part=1\r\n\n#EXT-X-ENDLIST";
  CHECK(with_token(playlist, "T") ==
        "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4?token=T\"\n#EXTINF:2.0,\nseg00.ts?token=T\n"
        "#EXTINF:2.0,\r\nseg01.ts?part=1&token=T\r\n\n#EXT-X-ENDLIST");
  CHECK(with_token("", "T").empty());
  CHECK(with_token("#EXT-X-KEY:METHOD=NONE\n", "T") == "#EXT-X-KEY:METHOD=NONE\n");
}

TEST_CASE("a Range header names one satisfiable byte range or none", "[unit][playback]") {
  const auto range = [](std::string_view header, std::uint64_t size) {
    return parse_byte_range(header, size);
  };
  CHECK_FALSE(range("", 100).range);
  CHECK(range("bytes=0-9", 100).range->last == 9);
  CHECK(range("bytes=90-", 100).range->first == 90);
  CHECK(range("bytes=90-", 100).range->last == 99);
  CHECK(range("bytes=50-500", 100).range->last == 99);
  CHECK(range("bytes=-10", 100).range->first == 90);
  CHECK(range("bytes=-500", 100).range->first == 0);
  CHECK_FALSE(range("bytes=100-", 100).satisfiable);
  CHECK_FALSE(range("bytes=-0", 100).satisfiable);
  // Not one plain range: the whole file answers.
  for (const char* ignored : {"bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=a-b", "bytes=-"}) {
    CAPTURE(ignored);
    CHECK(range(ignored, 100).satisfiable);
    CHECK_FALSE(range(ignored, 100).range);
  }
}
