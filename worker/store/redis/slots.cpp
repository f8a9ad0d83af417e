#include "worker/store/redis/slots.hpp"

#include <charconv>
#include <cstddef>

namespace streamgate {

namespace {

// CRC16-CCITT as XMODEM computes it (polynomial 0x1021, initial value 0, no reflection), the
// variant the Cluster specification names; its check value for "123456789" is 0x31C3.
constexpr std::array<std::uint16_t, 256> crc16_table = [] {
  std::array<std::uint16_t, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    unsigned crc = byte << 8;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
    table[byte] = static_cast<std::uint16_t>(crc);
  }
  return table;
}();

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (const char c : data)
    crc = static_cast<std::uint16_t>(
        (crc << 8) ^ crc16_table[((crc >> 8) ^ static_cast<unsigned char>(c)) & 0xff]);
  return crc;
}

}  // namespace

std::uint16_t redis_slot_of(std::string_view key) {
  // Only the first '{' and the first '}' after it count, and an empty tag ("{}") does not.
  const auto open = key.find('{');
  if (open != std::string_view::npos) {
    const auto close = key.find('}', open + 1);
    if (close != std::string_view::npos && close != open + 1)
      key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16(key) & (redis_slot_count - 1));
}

const std::array<std::string, redis_slot_count>& redis_slot_tags() {
  // The first base-36 number (0, 1, ..., z, 10, ...) to land in each slot. The enumeration is
  // fixed, so every worker names the same tag for a slot: these tags are part of the stored key
  // names, and changing the enumeration renames the per-slot keys of existing datasets.
  static const auto tags = [] {
    std::array<std::string, redis_slot_count> out;
    std::size_t missing = redis_slot_count;
    for (unsigned long n = 0; missing > 0; ++n) {
      char digits[16];
      const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, n, 36);
      const std::string_view tag(digits, static_cast<std::size_t>(end - digits));
      std::string& slot_tag = out[redis_slot_of(tag)];
      if (slot_tag.empty()) {
        slot_tag = tag;
        --missing;
      }
    }
    return out;
  }();
  return tags;
}

}  // namespace streamgate
