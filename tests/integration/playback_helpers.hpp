#pragma once

// What the playback tests share (docs/design.md §9): a folder of media for the apis to serve, two
// apis that share a playback key, and the requests a player makes.

#include <filesystem>
#include <string>
#include <string_view>

#include "helpers.hpp"
#include "stack.hpp"

namespace streamgate::it {

// Every api of a test signs with it, as the apis of a deployment do.
inline const std::string shared_playback_key(64, '7');
inline constexpr std::string_view segment_bytes =
    "fake MPEG-TS bytes: the api checks tokens, not media";

// A tiny HLS folder per video: what the api serves, not what a player decodes.
class media_folder final {
 public:
  media_folder();
  ~media_folder();
  media_folder(const media_folder&) = delete;
  media_folder& operator=(const media_folder&) = delete;
  std::string path() const { return root_.string(); }

 private:
  std::filesystem::path root_;
};

// Two apis serving `media`, with the shared key.
stack_options two_apis(const media_folder& media);

// The playback token of a body that must carry one.
std::string token_in(const json::value& body);

// The error code a refusal names; "" when the segment was served.
std::string refusal(http_client& http, std::string_view video, std::string_view token);
// Whether the segment is served once the api hears its worker: after a restart or a silence, an
// api first catches up on what waited, and answers 503 unavailable meanwhile (docs/design.md §9).
bool plays_once_heard(http_client& http, std::string_view video, std::string_view token);

struct started_stream {
  std::string id;
  std::string token;
};
// A start of video_1 that must be allowed, with its token.
started_stream start_playing(http_client& http, std::string_view user, std::string session);

}  // namespace streamgate::it
