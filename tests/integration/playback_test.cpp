// Playback enforcement (docs/design.md §9) with two apis sharing a key and one worker: a live
// stream's token plays on both; once the stream ends (stop, stop-all, expiry, eviction) the
// *other* api refuses it, with no round trip to a worker; forged, cross-video and old tokens are
// refused, and the authorize route for an origin in front agrees with the media route. What an
// api that missed events does with tokens: playback_link_test.cpp.

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

#include "helpers.hpp"
#include "playback_helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"
#include "ws_client.hpp"

using namespace streamgate::it;

namespace {

// Both apis refuse `token` as stream_ended, each once it heard the ended event (each api hears
// it on its own, so neither may be asked before it did).
void check_ended_everywhere(http_client& other, http_client& first, std::string_view token) {
  CHECK(wait_until([&] { return refusal(other, video_1, token) == "stream_ended"; }, 5s));
  CHECK(authorize(other, video_1, token) == "stream_ended");
  CHECK(wait_until([&] { return refusal(first, video_1, token) == "stream_ended"; }, 5s));
}

}  // namespace

TEST_CASE("a live stream's token plays on every api, and once it ends the other api refuses it",
          "[integration][playback]") {
  media_folder media;
  stack s(two_apis(media));
  http_client first(s.http_port(0));
  http_client other(s.http_port(1));
  const auto user = create_user(first);
  const auto played = start_playing(first, user, "tv");

  // The playlist names each segment with the same token, so any HLS player plays it unchanged.
  const auto playlist = other.get("/media/v01/index.m3u8?token=" + played.token);
  INFO(playlist.describe());
  REQUIRE(playlist.status == 200);
  CHECK(playlist.header("Content-Type") == "application/vnd.apple.mpegurl");
  CHECK(playlist.body.find("\nseg00.ts?token=" + played.token + "\n") != std::string::npos);
  CHECK(refusal(first, video_1, played.token).empty());
  CHECK(refusal(other, video_1, played.token).empty());
  CHECK(authorize(other, video_1, played.token).empty());
  const auto part = other.request(http::verb::get, segment_path(video_1, played.token), {},
                                  {{"Range", "bytes=5-9"}});
  CHECK(part.status == 206);
  CHECK(part.body == segment_bytes.substr(5, 5));
  CHECK(part.header("Content-Range") ==
        "bytes 5-9/" + std::to_string(segment_bytes.size()));
  // No answer carries a validator, so no If-Range matches: the whole file (RFC 9110 §13.1.5).
  const auto whole = other.request(http::verb::get, segment_path(video_1, played.token), {},
                                   {{"Range", "bytes=5-9"}, {"If-Range", "\"x\""}});
  CHECK(whole.status == 200);
  CHECK(whole.body == segment_bytes);

  SECTION("stopped") {
    REQUIRE(first.del(stream_path(user, played.id)).status == 204);
    check_ended_everywhere(other, first, played.token);
  }
  SECTION("all stopped") {
    REQUIRE(first.del(streams_path(user)).status == 204);
    check_ended_everywhere(other, first, played.token);
  }
  SECTION("evicted by a start beyond the limit") {
    REQUIRE(first.patch(user_path(user), R"({"maxStreams":1,"policy":"evict_oldest"})").status ==
            200);
    const auto newer = start_playing(first, user, "phone");
    check_ended_everywhere(other, first, played.token);
    CHECK(refusal(other, video_1, newer.token).empty());
  }
  SECTION("a heartbeat hands out a fresh token, ended with its stream") {
    const auto beat = other.post(heartbeat_path(user, played.id), "");
    INFO(beat.describe());
    REQUIRE(beat.status == 200);
    const std::string fresh = token_in(beat.json());
    CHECK(refusal(first, video_1, fresh).empty());
    REQUIRE(other.del(stream_path(user, played.id)).status == 204);
    CHECK(wait_until([&] { return refusal(first, video_1, fresh) == "stream_ended"; }, 5s));
    CHECK(wait_until([&] { return refusal(other, video_1, played.token) == "stream_ended"; }, 5s));
  }
}

TEST_CASE("an expired lease ends playback on every api", "[integration][playback]") {
  media_folder media;
  stack s(two_apis(media).lease_seconds(1));
  http_client first(s.http_port(0));
  http_client other(s.http_port(1));
  const auto user = create_user(first);
  const auto played = start_playing(first, user, "tv");
  // No heartbeat: the worker expires the lease and publishes the end.
  check_ended_everywhere(other, first, played.token);
}

TEST_CASE("forged, cross-video, missing and misplaced tokens get no media",
          "[integration][playback]") {
  media_folder media;
  stack s(two_apis(media));
  http_client http(s.http_port(1));
  const auto user = create_user(http);
  const auto played = start_playing(http, user, "tv");

  std::string forged = played.token;
  forged[forged.size() - 3] = forged[forged.size() - 3] == 'A' ? 'B' : 'A';
  CHECK(refusal(http, video_1, forged) == "invalid_token");
  CHECK(authorize(http, video_1, forged) == "invalid_token");
  // Another expiry with the same signature: the signature covers every field.
  std::string later = played.token;
  const std::size_t expiry = later.find('.', later.find('.', later.find('.') + 1) + 1) + 1;
  later[expiry + 1] = later[expiry + 1] == '9' ? '8' : '9';
  CHECK(refusal(http, video_1, later) == "invalid_token");
  CHECK(refusal(http, video_2, played.token) == "wrong_video");
  CHECK(authorize(http, video_2, played.token) == "wrong_video");
  CHECK(refusal(http, video_1, "") == "invalid_token");
  CHECK(http.get("/media/v01/seg00.ts").status == 403);

  // Media is one folder per video: nothing else is named, however the path is written.
  // A name no file of ours can have is 400 from the router; a path of another shape, or a name
  // that is no media file, is 404.
  for (const auto& [target, status] :
       std::vector<std::pair<std::string, int>>{{"/media/v01/..%2F..%2Fetc%2Fpasswd?token=", 400},
                                                {"/media/v01/.hidden.ts?token=", 400},
                                                {"/media/v01/?token=", 400},
                                                {"/media/../v01/seg00.ts?token=", 404},
                                                {"/media/v01/sub/seg00.ts?token=", 404},
                                                {"/media/v01/seg00.exe?token=", 404},
                                                {"/media/v01/notes.txt?token=", 404}}) {
    CAPTURE(target);
    const auto r = http.get(target + played.token);
    INFO(r.describe());
    CHECK(r.status == status);
    CHECK(r.body.find(segment_bytes) == std::string::npos);
  }
  // The check for an origin in front refuses the same names, since that origin would serve any
  // file of the folder it answers 204 for.
  for (const std::string_view name : {"..%2F..%2Fetc%2Fpasswd", ".hidden.ts", "", "seg00.exe",
                                      "notes.txt", "seg00.ts%00", "seg00.ts%2Fx"}) {
    CAPTURE(name);
    const auto r = http.request(
        http::verb::get, "/api/v1/playback/authorize", {},
        {{"X-Original-URI", "/media/v01/" + std::string(name) + "?token=" + played.token}});
    check_error(r, 403, "forbidden");
  }
  const auto outside = http.request(http::verb::get, "/api/v1/playback/authorize", {},
                                    {{"X-Original-URI", "no-uri"}});
  CHECK(outside.status == 400);
  CHECK(http.get("/api/v1/playback/authorize").status == 400);
}

TEST_CASE("WebSocket verdicts and heartbeats carry a playback token", "[integration][playback]") {
  media_folder media;
  stack s(two_apis(media));
  http_client http(s.http_port(1));
  const auto user = create_user(http);
  ws_client ws(s.http_port(0), ws_client::target_for(user));
  read_snapshot(ws, user);
  ws.send_json(json::object({{"type", "start"}, {"videoId", std::string(video_1)},
                             {"sessionId", "ws-dev"}, {"requestId", "ws-play-1"}}));
  const auto verdict = read_verdict(ws, "ws-play-1");
  INFO(json::dump(verdict));
  REQUIRE(json::str(verdict, "verdict") == "allowed");
  CHECK(refusal(http, video_1, token_in(verdict)).empty());

  const std::string stream_id = json::str(verdict, "streamId");
  ws.send_json(json::object({{"type", "heartbeat"}, {"streamId", stream_id}}));
  const auto beat = ws.read_until(of_type("heartbeat"), 10s, "a heartbeat answer");
  CHECK(refusal(http, video_1, token_in(beat)).empty());

  // A denied start grants nothing.
  REQUIRE(http.patch(user_path(user), R"({"maxStreams":1})").status == 200);
  const auto denied = start(http, user, start_args{}.session("other-dev"));
  CHECK(denied.status == 429);
  CHECK_FALSE(denied.json().HasMember("playback"));
}

TEST_CASE("after a worker restart, older tokens need a heartbeat", "[integration][playback]") {
  media_folder media;
  stack s(two_apis(media));
  http_client http(s.http_port(1));
  const auto user = create_user(http);
  const auto played = start_playing(http, user, "tv");
  REQUIRE(refusal(http, video_1, played.token).empty());

  // A worker that crashed may have ended streams no api heard of: tokens signed before the api
  // heard it again are refused until a heartbeat renews them.
  s.kill9_worker();
  s.start_worker();
  CHECK(wait_until([&] { return refusal(http, video_1, played.token) == "token_expired"; }, 20s));
  std::string fresh;
  REQUIRE(wait_until(
      [&] {
        const auto beat = http.post(heartbeat_path(user, played.id), "");
        if (beat.status != 200) return false;
        fresh = token_in(beat.json());
        return true;
      },
      20s));
  CHECK(plays_once_heard(http, video_1, fresh));
}
