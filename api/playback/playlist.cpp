#include "api/playback/playlist.hpp"

namespace streamgate {

namespace {

void append_uri(std::string& out, std::string_view uri, std::string_view token) {
  out += uri;
  // A fragment would swallow the query; playlists of ours have none, others keep theirs.
  out += uri.find('?') == std::string_view::npos ? "?token=" : "&token=";
  out += token;
}

void append_tag(std::string& out, std::string_view line, std::string_view token) {
  constexpr std::string_view attribute = "URI=\"";
  const std::size_t start = line.find(attribute);
  const std::size_t value = start == std::string_view::npos ? start : start + attribute.size();
  const std::size_t end = value == std::string_view::npos ? value : line.find('"', value);
  if (end == std::string_view::npos) {
    out += line;
    return;
  }
  out += line.substr(0, value);
  append_uri(out, line.substr(value, end - value), token);
  out += line.substr(end);
}

}  // namespace

std::string with_token(std::string_view playlist, std::string_view token) {
  std::string out;
  out.reserve(playlist.size() + playlist.size() / 8);
  while (!playlist.empty()) {
    const std::size_t newline = playlist.find('\n');
    std::string_view line = playlist.substr(0, newline);
    const bool carriage_return = line.ends_with('\r');
    if (carriage_return) line.remove_suffix(1);
    const std::string_view ending = newline == std::string_view::npos
                                        ? (carriage_return ? "\r" : "")
                                        : (carriage_return ? "\r\n" : "\n");
    if (line.starts_with('#'))
      append_tag(out, line, token);
    else if (!line.empty())
      append_uri(out, line, token);
    out += ending;
    playlist.remove_prefix(newline == std::string_view::npos ? playlist.size() : newline + 1);
  }
  return out;
}

}  // namespace streamgate
