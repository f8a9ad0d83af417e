#pragma once

// The one byte range of a `Range: bytes=...` header (RFC 9110 §14.1.2), which is what players
// ask for. Anything else (several ranges, other units) is ignored: the whole file is a valid
// answer to it.

#include <cstdint>
#include <optional>
#include <string_view>

namespace streamgate {

struct byte_range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
};

struct range_request {
  bool satisfiable = true;
  std::optional<byte_range> range;  // none: the whole file
};

// `header` is the Range field's value (empty when absent), `size` the file's length.
range_request parse_byte_range(std::string_view header, std::uint64_t size);

}  // namespace streamgate
