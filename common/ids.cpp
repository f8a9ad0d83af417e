#include "common/ids.hpp"

#include <cstddef>
#include <cstdint>
#include <random>

namespace streamgate {

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_valid_file_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (const char c : name)
    if (c != '.' && !is_valid_id(std::string_view(&c, 1))) return false;
  return true;
}

namespace {

// One generator per thread, seeded from the OS: ids must not repeat across restarts.
std::mt19937_64& generator() {
  thread_local std::mt19937_64 g{std::random_device{}()};
  return g;
}

}  // namespace

std::string new_id(std::string_view prefix) {
  static constexpr char hex[] = "0123456789abcdef";
  // Sized once and filled in place: every allowed start makes one, so it is on the hot path.
  std::string id(prefix.size() + 32, '0');
  prefix.copy(id.data(), prefix.size());
  char* out = id.data() + prefix.size();
  for (int word = 0; word < 2; ++word) {
    std::uint64_t bits = generator()();
    for (int nibble = 0; nibble < 16; ++nibble, bits >>= 4) *out++ = hex[bits & 0xf];
  }
  return id;
}

std::string new_request_id() {
  static constexpr char base64url[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string id = "r_0123456789abc";
  std::uint64_t bits = generator()();
  const std::uint64_t more = generator()();
  for (std::size_t i = 2; i < id.size(); ++i) {
    if (i == 12) bits = more;  // 10 characters of 6 bits from the first draw, 3 from the second
    id[i] = base64url[bits & 63];
    bits >>= 6;
  }
  return id;
}

}  // namespace streamgate
