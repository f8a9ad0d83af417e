// A real nginx in front of a real api, configured by deploy/nginx-media.conf itself with its
// placeholders filled in (so the file the project ships is the one tested): the media origin of
// docs/design.md §9 serves a segment to a live stream's playback token, asking the api's
// GET /api/v1/playback/authorize (auth_request) every time, and refuses it, with the api's reason,
// once the stream is stopped, as it refuses forged, missing and other videos' tokens.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "diagnostics.hpp"
#include "free_port.hpp"
#include "helpers.hpp"
#include "process.hpp"
#include "stack.hpp"
#include "wait.hpp"

#ifndef STREAMGATE_NGINX_MEDIA_CONF
#error "STREAMGATE_NGINX_MEDIA_CONF must name deploy/nginx-media.conf"
#endif

using namespace streamgate::it;

namespace {

// Debian's path (nginx-light, which has auth_request; scripts/install-deps.sh --test).
const std::filesystem::path nginx_program = "/usr/sbin/nginx";

std::string origin_segment_bytes(std::string_view video_id) {
  // Not MPEG-TS: nginx and the api check tokens, never what a segment holds.
  return "fake segment of " + std::string(video_id) + ", served by nginx";
}

std::string read_whole(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_readable_by_all(const std::filesystem::path& file, std::string_view content) {
  std::ofstream(file, std::ios::binary) << content;
  using std::filesystem::perms;
  std::filesystem::permissions(
      file, perms::owner_read | perms::owner_write | perms::group_read | perms::others_read);
}

// deploy/nginx-media.conf with each @PLACEHOLDER@ replaced. A placeholder this test does not know
// fails the test rather than reaching nginx as text.
std::string render_nginx_conf(const std::vector<std::pair<std::string, std::string>>& values) {
  std::string conf = read_whole(STREAMGATE_NGINX_MEDIA_CONF);
  if (conf.empty())
    throw std::runtime_error("cannot read " + std::string(STREAMGATE_NGINX_MEDIA_CONF));
  for (const auto& [placeholder, value] : values)
    for (std::size_t at = conf.find(placeholder); at != std::string::npos;
         at = conf.find(placeholder, at + value.size()))
      conf.replace(at, placeholder.size(), value);
  std::smatch left;
  if (std::regex_search(conf, left, std::regex("@[A-Z_]+@")))
    throw std::runtime_error(std::string(STREAMGATE_NGINX_MEDIA_CONF) + " has a placeholder " +
                             left.str() + " this test does not fill in");
  return conf;
}

// A temp dir holding a tiny HLS folder (the api's --media-root layout) and an nginx serving it
// through the api on a free port. Run as root, nginx's workers drop to "nobody": everything they
// read is readable by all. The dir is deleted after the test case unless it failed
// (diagnostics.hpp).
class nginx_media_origin final {
 public:
  nginx_media_origin()
      : dir_(std::filesystem::temp_directory_path() / unique_id("streamgate-nginx")) {
    using std::filesystem::perms;
    const auto readable_dir = perms::owner_all | perms::group_read | perms::group_exec |
                              perms::others_read | perms::others_exec;
    std::filesystem::create_directories(run_dir());
    report_ = open_report(dir_);
    add_log(report_, "nginx (stderr)", dir_ / "nginx.out");
    add_log(report_, "nginx error.log", run_dir() / "error.log");
    add_log(report_, "nginx access.log", access_log());
    for (const std::string_view video : {video_1, video_2}) {
      std::filesystem::create_directories(media_root() / video);
      std::filesystem::permissions(media_root() / video, readable_dir);
      write_readable_by_all(media_root() / video / "index.m3u8", playlist());
      write_readable_by_all(media_root() / video / "seg00.ts", origin_segment_bytes(video));
      // Not media: a folder may hold other files, which no token opens.
      write_readable_by_all(media_root() / video / "notes.txt", outside_bytes());
      // A media name leading out of the folder, which nginx must not follow.
      std::filesystem::create_symlink(dir_ / "outside.ts", media_root() / video / "outside.ts");
    }
    write_readable_by_all(dir_ / "outside.ts", outside_bytes());
    std::filesystem::permissions(dir_, readable_dir);
    std::filesystem::permissions(media_root(), readable_dir);
  }

  ~nginx_media_origin() {
    if (nginx_) nginx_->stop();
    close_report(report_, std::uncaught_exceptions() > 0);
  }
  nginx_media_origin(const nginx_media_origin&) = delete;
  nginx_media_origin& operator=(const nginx_media_origin&) = delete;

  std::filesystem::path media_root() const { return dir_ / "media"; }
  std::filesystem::path access_log() const { return run_dir() / "access.log"; }
  std::filesystem::path error_log() const { return run_dir() / "error.log"; }
  unsigned short port() const { return port_; }
  static std::string outside_bytes() { return "no token opens this"; }
  static std::string playlist() {
    return "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg00.ts\n#EXT-X-ENDLIST\n";
  }

  // Starts nginx in front of the api on `api_port`; returns once it answers HTTP. A port taken
  // between choosing and binding it starts it again on another, as the stack does.
  void start(unsigned short api_port) {
    constexpr int attempts = 3;
    for (int attempt = 1;; ++attempt) {
      port_ = free_port();
      const std::filesystem::path conf = dir_ / "nginx.conf";
      std::ofstream(conf) << render_nginx_conf({
          {"@LISTEN@", "127.0.0.1:" + std::to_string(port_)},
          {"@API@", "127.0.0.1:" + std::to_string(api_port)},
          {"@MEDIA_ROOT@", media_root().string()},
          {"@RUN_DIR@", run_dir().string()},
      });
      nginx_ = std::make_unique<process>(
          nginx_program,
          std::vector<std::string>{"-p", dir_.string(), "-c", conf.string(), "-g", "daemon off;"},
          dir_, dir_ / "nginx.out");
      if (wait_until([this] { return answers() || !nginx_->running(); }, 10s) && nginx_->running())
        return;
      const std::string said = tail_of(dir_ / "nginx.out") + tail_of(error_log());
      nginx_->stop();
      if (said.find("in use") == std::string::npos || attempt == attempts)
        throw std::runtime_error("nginx did not start (" + nginx_->command_line() + "): " + said);
      add_note(report_, "nginx's port was taken, retrying on another");
    }
  }

 private:
  std::filesystem::path run_dir() const { return dir_ / "run"; }

  bool answers() const {
    try {
      http_client probe(port_, 2s);
      probe.get("/");
      return true;
    } catch (const http_error&) {
      return false;
    }
  }

  std::filesystem::path dir_;
  int report_ = 0;
  unsigned short port_ = 0;
  std::unique_ptr<process> nginx_;
};

// The same token with one character of its signature changed.
std::string forged(std::string token) {
  char& c = token.at(token.size() - 5);
  c = c == 'A' ? 'B' : 'A';
  return token;
}

}  // namespace

TEST_CASE(
    "nginx with deploy/nginx-media.conf serves a live stream's segment and refuses it once "
    "the stream is stopped",
    "[integration][playback][nginx]") {
  if (!std::filesystem::exists(nginx_program))
    FAIL(nginx_program.string()
         << " is missing: this test runs a real nginx with auth_request "
            "(apt-get install nginx-light, or scripts/install-deps.sh --test)");
  nginx_media_origin origin;
  stack s(stack_options{}.api_args({"--media-root", origin.media_root().string()}));
  origin.start(s.http_port());
  http_client api(s.http_port());
  http_client cdn(origin.port());
  // A player names the origin's public host; the api behind it listens on loopback, where it
  // serves only loopback names, so the config must not hand that host on.
  const auto from_player = [&cdn](const std::string& target) {
    return cdn.request(http::verb::get, target, {}, {{"Host", "media.example.com"}});
  };

  const std::string user = create_user(api);
  const auto started = start(api, user, start_args{}.video(std::string(video_1)));
  INFO(started.describe());
  REQUIRE(started.status == 201);
  const auto verdict = started.json();
  const std::string token = json::str(json::member(verdict, "playback"), "token");
  const std::string stream_id = json::str(json::member(verdict, "stream"), "streamId");
  const std::string segment = "/media/" + std::string(video_1) + "/seg00.ts";

  const auto served = from_player(segment + "?token=" + token);
  INFO("segment: " << served.describe());
  REQUIRE(served.status == 200);
  CHECK(served.body == origin_segment_bytes(video_1));
  CHECK(served.header("Content-Type") == "video/mp2t");
  CHECK(served.header("Cache-Control") == "no-store");
  // nginx serves the playlist as it is on disk: the player adds the token to each segment.
  const auto playlist =
      from_player("/media/" + std::string(video_1) + "/index.m3u8?token=" + token);
  CHECK(playlist.status == 200);
  CHECK(playlist.body == nginx_media_origin::playlist());

  struct refused_request {
    std::string what;
    std::string target;
    std::string code;
  };
  const std::vector<refused_request> refused_while_live{
      {"no token", segment, "invalid_token"},
      {"a forged token", segment + "?token=" + forged(token), "invalid_token"},
      {"the token on another video's segment",
       "/media/" + std::string(video_2) + "/seg00.ts?token=" + token, "wrong_video"},
      {"a file of the folder that is not media",
       "/media/" + std::string(video_1) + "/notes.txt?token=" + token, "forbidden"},
  };
  for (const auto& r : refused_while_live) {
    CAPTURE(r.what, r.target);
    check_error(from_player(r.target), 403, r.code);
  }

  const auto stopped = api.del(stream_path(user, stream_id));
  INFO(stopped.describe());
  REQUIRE(stopped.status == 204);
  // The api hears the stream's ended event and refuses its token from then on.
  http_response last;
  const bool refused = wait_until(
      [&] {
        last = from_player(segment + "?token=" + token);
        return last.status != 200;
      },
      10s);
  INFO("last answer: " << last.describe());
  REQUIRE(refused);
  check_error(last, 403, "stream_ended");

  // Every request carried the token in its query; the config promises no log line quotes one.
  CHECK(read_whole(origin.access_log()).find(token) == std::string::npos);
  CHECK(read_whole(origin.error_log()).find(token) == std::string::npos);

  // A link in the folder that leads out of it, under a media name and a live token: the api
  // cannot see the origin's folder, nginx refuses to follow it (logging the request, as for any
  // failure).
  const auto live = start(api, user, start_args{}.video(std::string(video_1)));
  REQUIRE(live.status == 201);
  const auto linked = from_player("/media/" + std::string(video_1) + "/outside.ts?token=" +
                                  json::str(json::member(live.json(), "playback"), "token"));
  INFO("a link out of the folder: " << linked.describe());
  CHECK(linked.status == 403);
  CHECK(linked.body.find(nginx_media_origin::outside_bytes()) == std::string::npos);
}
