#include "playback_helpers.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <system_error>
#include <utility>

#include "wait.hpp"

namespace streamgate::it {

namespace fs = std::filesystem;

media_folder::media_folder() : root_(fs::temp_directory_path() / unique_id("streamgate-media")) {
  for (const std::string_view video : {video_1, video_2}) {
    fs::create_directories(root_ / video);
    std::ofstream(root_ / video / "index.m3u8")
        << "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg00.ts\n#EXT-X-ENDLIST\n";
    std::ofstream(root_ / video / "seg00.ts") << segment_bytes;
    // Not media: a folder may hold other files, which no token opens.
    std::ofstream(root_ / video / "notes.txt") << segment_bytes;
  }
}

media_folder::~media_folder() {
  std::error_code ignored;
  fs::remove_all(root_, ignored);
}

stack_options two_apis(const media_folder& media) {
  return stack_options{}
      .apis(2)
      .api_args({"--media-root", media.path()})
      .api_env({"STREAMGATE_PLAYBACK_KEY=" + shared_playback_key});
}

std::string token_in(const json::value& body) {
  REQUIRE(body.HasMember("playback"));
  const json::value& playback = body["playback"];
  CHECK(json::is_iso8601(json::str(playback, "expiresAt")));
  return json::str(playback, "token");
}

std::string refusal(http_client& http, std::string_view video, std::string_view token) {
  const auto r = http.get(segment_path(video, token));
  if (r.status == 200) {
    CHECK(r.body == segment_bytes);
    CHECK(r.header("Content-Type") == "video/mp2t");
    // Served for one token's holder: no shared cache may keep it for another.
    CHECK(r.header("Cache-Control") == "no-store");
    return "";
  }
  INFO(r.describe());
  // 503 while the api does not hear its worker (playback_link_test.cpp); its code then says so.
  REQUIRE((r.status == 403 || r.status == 503));
  return json::str(r.json()["error"], "code");
}

bool plays_once_heard(http_client& http, std::string_view video, std::string_view token) {
  return wait_until([&] { return refusal(http, video, token).empty(); }, 20s);
}

started_stream start_playing(http_client& http, std::string_view user, std::string session) {
  const auto r = start(http, user, start_args{}.session(std::move(session)));
  INFO(r.describe());
  REQUIRE(r.status == 201);
  const auto body = r.json();
  return {json::str(body["stream"], "streamId"), token_in(body)};
}

}  // namespace streamgate::it
