#include "common/bounded_file.hpp"

#include <array>
#include <fstream>
#include <system_error>

namespace streamgate {

namespace {

std::string size_text(std::size_t bytes) {
  constexpr std::size_t mib = 1024 * 1024;
  if (bytes % mib == 0) return std::to_string(bytes / mib) + " MiB";
  return std::to_string(bytes) + " bytes";
}

}  // namespace

result<std::string> read_bounded_file(const std::filesystem::path& path, std::size_t max_bytes,
                                      std::string_view what) {
  const std::string named = std::string(what) + " '" + path.string() + "'";
  // Opening a directory succeeds; reading it fails, and a stream iterator throws then.
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return bad_request(named + " is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return bad_request("cannot read " + named);
  // read() turns a failing read into badbit instead of an exception.
  std::string text;
  std::array<char, 64 * 1024> chunk;
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    text.append(chunk.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) return bad_request(named + " is larger than " + size_text(max_bytes));
  }
  if (in.bad()) return bad_request("cannot read " + named);
  return text;
}

}  // namespace streamgate
