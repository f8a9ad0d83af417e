#include "common/link_keys.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace streamgate {

namespace {

constexpr std::string_view z85_alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

// Key files are tiny; the cap keeps a --curve-...-file of /dev/zero from being read for ever.
constexpr std::size_t max_key_file_bytes = 64 * 1024;

std::string_view trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

result<std::string> read_small_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return bad_request("'" + path + "' is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) return bad_request("cannot read '" + path + "'");
  std::string text(max_key_file_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return bad_request("cannot read '" + path + "'");
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_key_file_bytes)
    return bad_request("'" + path + "' is larger than " + std::to_string(max_key_file_bytes) +
                       " bytes: not a key file");
  return text;
}

}  // namespace

bool is_z85_key(std::string_view text) {
  if (text.size() != z85_key_length) return false;
  for (std::size_t group = 0; group < text.size(); group += 5) {
    std::uint64_t value = 0;
    for (std::size_t i = group; i < group + 5; ++i) {
      const auto digit = z85_alphabet.find(text[i]);
      if (digit == std::string_view::npos) return false;
      value = value * 85 + digit;
    }
    if (value > 0xFFFFFFFFu) return false;
  }
  return true;
}

result<std::string> read_key_file(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return text.error();
  const std::string_view key = trimmed(*text);
  if (!is_z85_key(key))
    return bad_request("'" + path + "' does not hold a CURVE key (40 characters of Z85 text, as " +
                       "scripts/make-link-keys.sh writes)");
  return std::string(key);
}

result<std::vector<std::string>> read_key_list_file(const std::string& path) {
  auto text = read_small_file(path);
  if (!text) return text.error();
  std::vector<std::string> keys;
  std::istringstream lines(*text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const std::string_view key = trimmed(line);
    // '#' is a Z85 digit, but no key begins with it: the group would pass 2^32.
    if (key.empty() || key.front() == '#') continue;
    if (!is_z85_key(key))
      return bad_request("line " + std::to_string(number) + " of '" + path +
                         "' is not a CURVE public key (40 characters of Z85 text)");
    keys.emplace_back(key);
  }
  if (keys.empty()) return bad_request("'" + path + "' lists no public key");
  return keys;
}

}  // namespace streamgate
