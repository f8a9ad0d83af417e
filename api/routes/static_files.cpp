#include "api/routes/static_files.hpp"

#include <array>
#include <boost/url/pct_string_view.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>

#include "api/routes/handlers.hpp"
#include "api/http/responses.hpp"
#include "api/services.hpp"

namespace streamgate {

namespace {

namespace fs = std::filesystem;

// The UI is a handful of small files, a media segment a few hundred KiB; anything bigger is not
// ours to serve from memory.
constexpr std::uintmax_t max_file_bytes = 16 * 1024 * 1024;

struct type_row {
  std::string_view extension;
  std::string_view type;
};

constexpr std::array<type_row, 10> content_types{{
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".json", "application/json"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".map", "application/json"},
}};

bool is_within(const fs::path& root, const fs::path& file) {
  auto r = root.begin();
  auto f = file.begin();
  for (; r != root.end(); ++r, ++f)
    if (f == file.end() || *r != *f) return false;
  return true;
}

}  // namespace

std::optional<fs::path> resolve_static_path(const fs::path& root, std::string_view encoded_path) {
  const auto encoded = boost::urls::make_pct_string_view(encoded_path);
  if (!encoded) return std::nullopt;
  std::string path = encoded->decode();
  if (path.empty() || path.front() != '/') return std::nullopt;
  if (path.find('\0') != std::string::npos || path.find('\\') != std::string::npos)
    return std::nullopt;
  if (path.back() == '/') path += "index.html";
  const fs::path relative = fs::path(path).relative_path();
  for (const fs::path& part : relative)
    if (part == "..") return std::nullopt;

  std::error_code ec;
  const fs::path base = fs::canonical(root, ec);
  if (ec) return std::nullopt;
  const fs::path file = fs::canonical(base / relative, ec);
  if (ec || !is_within(base, file) || !fs::is_regular_file(file, ec)) return std::nullopt;
  return file;
}

std::optional<std::string> read_small_file(const fs::path& file) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(file, ec);
  if (ec || size > max_file_bytes) return std::nullopt;
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  std::string content(static_cast<std::size_t>(size), '\0');
  in.read(content.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size) return std::nullopt;
  return content;
}

std::string_view content_type_of(const fs::path& file) {
  const std::string extension = file.extension().string();
  for (const type_row& row : content_types)
    if (row.extension == extension) return row.type;
  return "application/octet-stream";
}

asio::awaitable<http_response> serve_static_file(const request_context& ctx) {
  // The /docs page's renderer lives apart from the web UI (docs/build.sh's output).
  constexpr std::string_view docs_assets = "/docs/assets/";
  const std::string_view path = ctx.target.encoded_path();
  const bool is_doc_asset = path.starts_with(docs_assets) && path.size() > docs_assets.size();
  const auto file = is_doc_asset ? resolve_static_path(ctx.services.docs_root,
                                                       path.substr(docs_assets.size() - 1))
                                 : resolve_static_path(ctx.services.web_root, path);
  std::optional<std::string> content;
  if (file) content = read_small_file(*file);
  if (!content) co_return error_response(error_code::not_found, "no such resource");
  http_response res{http::status::ok, 11};
  res.set(http::field::content_type, content_type_of(*file));
  res.body() = std::move(*content);
  co_return res;
}

}  // namespace streamgate
