// The playback routes of docs/design.md §9: media served only to a live stream's token, and the
// same check for an origin or CDN in front (nginx auth_request). No worker is asked: a token is
// an HMAC and a look-up in the ends this api heard.

#include <array>
#include <boost/url/parse.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "api/http/responses.hpp"
#include "api/playback/byte_range.hpp"
#include "api/playback/playback_gate.hpp"
#include "api/playback/playlist.hpp"
#include "api/routes/handlers.hpp"
#include "api/routes/static_files.hpp"
#include "api/services.hpp"
#include "common/clock.hpp"
#include "common/ids.hpp"

namespace streamgate {

namespace {

struct media_type {
  std::string_view extension;
  std::string_view type;
};

constexpr std::array<media_type, 5> media_types{{
    {".m3u8", "application/vnd.apple.mpegurl"},
    {".ts", "video/mp2t"},
    {".m4s", "video/iso.segment"},
    {".mp4", "video/mp4"},
    {".aac", "audio/aac"},
}};

std::string_view media_type_of(std::string_view name) {
  for (const media_type& t : media_types)
    if (name.ends_with(t.extension)) return t.type;
  return "";
}

// A file both playback routes serve: one of the video's own folder, of a media type.
bool is_media_file_name(std::string_view name) {
  return is_valid_file_name(name) && !media_type_of(name).empty();
}

// The token of a query string ("a=1&token=T"); empty when there is none.
std::string_view token_in(std::string_view query) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.starts_with("token=")) return pair.substr(6);
    query.remove_prefix(amp == std::string_view::npos ? query.size() : amp + 1);
  }
  return {};
}

result<playback_claims> check_token(const request_context& ctx, std::string_view token,
                                    std::string_view video_id) {
  if (ctx.services.playback == nullptr)
    return error{error_code::not_found, "this api serves no media"};
  if (token.empty())
    return error{error_code::invalid_token, "a playback token is needed (?token=...)"};
  return ctx.services.playback->check(token, video_id, now().wall_ms);
}

http_response media_file(const request_context& ctx, std::string_view video_id,
                         std::string_view name, std::string_view token) {
  std::string path = "/";
  path.append(video_id).append("/").append(name);
  const auto file = resolve_static_path(ctx.services.media_root, path);
  std::optional<std::string> content;
  if (file) content = read_small_file(*file);
  if (!content) return error_response(error_code::not_found, "no such media file");

  http_response res{http::status::ok, 11};
  res.set(http::field::content_type, media_type_of(name));
  // Each answer is for one token's holder: no shared cache may keep it.
  res.set(http::field::cache_control, "no-store");
  if (name.ends_with(".m3u8")) {
    res.body() = with_token(*content, token);
    return res;
  }
  res.set(http::field::accept_ranges, "bytes");
  const auto size = static_cast<std::uint64_t>(content->size());
  // No answer here carries a validator (ETag, Last-Modified), so no If-Range can match, and
  // RFC 9110 §13.1.5 then wants the Range ignored: the whole file.
  const std::string_view asked =
      ctx.request.count(http::field::if_range) > 0 ? "" : ctx.request[http::field::range];
  const range_request range = parse_byte_range(asked, size);
  if (!range.satisfiable) {
    http_response refused =
        error_response(error_code::bad_request, "the requested range is outside the file");
    refused.result(http::status::range_not_satisfiable);
    refused.set(http::field::content_range, "bytes */" + std::to_string(size));
    return refused;
  }
  if (range.range) {
    res.result(http::status::partial_content);
    res.set(http::field::content_range, "bytes " + std::to_string(range.range->first) + "-" +
                                            std::to_string(range.range->last) + "/" +
                                            std::to_string(size));
    *content = content->substr(range.range->first, range.range->last - range.range->first + 1);
  }
  res.body() = std::move(*content);
  return res;
}

}  // namespace

asio::awaitable<http_response> serve_media(const request_context& ctx) {
  const std::string_view video_id = ctx.param("videoId");
  const std::string_view name = ctx.param("file");
  if (!is_media_file_name(name))
    co_return error_response(error_code::not_found, "no such media file");
  const std::string_view token = token_in(ctx.target.encoded_query());
  if (auto claims = check_token(ctx, token, video_id); !claims)
    co_return error_response(claims.error());
  co_return media_file(ctx, video_id, name, token);
}

asio::awaitable<http_response> authorize_playback(const request_context& ctx) {
  // nginx auth_request: the original request's URI, "/any/prefix/{videoId}/{file}?token=T".
  const std::string_view original = ctx.request["X-Original-URI"];
  const auto uri = boost::urls::parse_origin_form(original);
  if (original.empty() || !uri)
    co_return error_response(bad_request("X-Original-URI must hold the media request's URI"));
  const std::string_view path = uri->encoded_path();
  const std::size_t file_slash = path.rfind('/');
  const std::size_t folder_slash =
      file_slash == 0 || file_slash == std::string_view::npos ? std::string_view::npos
                                                              : path.rfind('/', file_slash - 1);
  if (folder_slash == std::string_view::npos)
    co_return error_response(error_code::wrong_video, "the URI names no video folder");
  const std::string_view video_id = path.substr(folder_slash + 1, file_slash - folder_slash - 1);
  // What the media route would refuse, whatever the token: the origin in front serves its whole
  // folder to whatever this answers 204 for.
  if (!is_media_file_name(path.substr(file_slash + 1)))
    co_return error_response(error_code::forbidden,
                             "the URI names no media file: a name of [A-Za-z0-9_.-], no '.' "
                             "first, ending in .m3u8, .ts, .m4s, .mp4 or .aac");
  if (auto claims = check_token(ctx, token_in(uri->encoded_query()), video_id); !claims)
    co_return error_response(claims.error());
  co_return http_response{http::status::no_content, 11};
}

}  // namespace streamgate
