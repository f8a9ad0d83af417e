#include "common/wire/wire_buffer.hpp"

namespace streamgate {

namespace {

// Interleaves signs so that -1 is 1, 1 is 2, -2 is 3...: small magnitudes make short varints.
std::uint64_t zigzag(std::int64_t value) {
  const auto bits = static_cast<std::uint64_t>(value);
  return (bits << 1) ^ (value < 0 ? ~std::uint64_t{0} : 0);
}

std::int64_t unzigzag(std::uint64_t bits) {
  return static_cast<std::int64_t>((bits >> 1) ^ (~(bits & 1) + 1));
}

}  // namespace

void wire_writer::write_byte(unsigned char value) { out_.push_back(static_cast<char>(value)); }

void wire_writer::write_varint(std::uint64_t value) {
  while (value >= 0x80) {
    write_byte(static_cast<unsigned char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  write_byte(static_cast<unsigned char>(value));
}

void wire_writer::write_signed(std::int64_t value) { write_varint(zigzag(value)); }

void wire_writer::write_string(std::string_view value) {
  write_varint(value.size());
  out_.append(value);
}

void wire_writer::write_bool(bool value) { write_byte(value ? 1 : 0); }

bool wire_reader::read_byte(unsigned char& value) {
  if (left() < 1) return false;
  value = static_cast<unsigned char>(frame_[pos_++]);
  return true;
}

bool wire_reader::read_varint(std::uint64_t& value) {
  std::uint64_t result = 0;
  for (int shift = 0;; shift += 7) {
    unsigned char b = 0;
    if (!read_byte(b)) return false;
    // The tenth byte holds bit 63 only: more would overflow 64 bits or ask for an eleventh byte.
    if (shift == 63 && b > 1) return false;
    result |= std::uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) {
      if (b == 0 && shift > 0) return false;
      value = result;
      return true;
    }
  }
}

bool wire_reader::read_signed(std::int64_t& value) {
  std::uint64_t bits = 0;
  if (!read_varint(bits)) return false;
  value = unzigzag(bits);
  return true;
}

bool wire_reader::read_string(std::string& value) {
  std::uint64_t size = 0;
  // Checked before anything is allocated: a claimed length can be anything up to 2^64 - 1.
  if (!read_varint(size) || size > left()) return false;
  value.assign(frame_.substr(pos_, size));
  pos_ += size;
  return true;
}

bool wire_reader::read_bool(bool& value) {
  unsigned char b = 0;
  if (!read_byte(b) || b > 1) return false;
  value = b == 1;
  return true;
}

bool wire_reader::read_count(std::size_t& count) {
  std::uint64_t n = 0;
  if (!read_varint(n) || n > left()) return false;
  count = static_cast<std::size_t>(n);
  return true;
}

}  // namespace streamgate
