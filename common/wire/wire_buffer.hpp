#pragma once

// The primitives of the worker's wire codec (common/wire/worker_codec.hpp): bytes, LEB128
// varints (signed ones zigzag, so a small negative number stays short), length-prefixed strings
// and booleans. The reader is strict and never throws: a read that would run past the frame, or
// that finds bytes the writer never writes, returns false, and the decoder gives the frame up.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace streamgate {

class wire_writer final {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit wire_writer(std::string& out) : out_(out) {}

  void write_byte(unsigned char value);
  void write_varint(std::uint64_t value);
  void write_signed(std::int64_t value);
  void write_string(std::string_view value);
  void write_bool(bool value);

 private:
  std::string& out_;
};

// After a read returns false the reader is spent: what it holds then is unspecified.
class wire_reader final {
 public:
  // Reads `frame`, which must outlive the reader.
  explicit wire_reader(std::string_view frame) : frame_(frame) {}

  bool read_byte(unsigned char& value);
  // Refuses a varint beyond 64 bits and one longer than its value needs (a last byte of 0 after
  // others), so every number has exactly one encoding.
  bool read_varint(std::uint64_t& value);
  bool read_signed(std::int64_t& value);
  bool read_string(std::string& value);
  // Refuses any byte but 0 and 1.
  bool read_bool(bool& value);
  // A list's length. Every element takes a byte at least, so a count beyond the bytes left is
  // refused before anything is reserved: a list never costs more memory than its frame allows.
  bool read_count(std::size_t& count);

  bool at_end() const { return pos_ == frame_.size(); }

 private:
  std::size_t left() const { return frame_.size() - pos_; }

  std::string_view frame_;
  std::size_t pos_ = 0;
};

}  // namespace streamgate
