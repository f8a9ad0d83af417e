#include "api/playback/byte_range.hpp"

#include <charconv>

namespace streamgate {

namespace {

std::optional<std::uint64_t> number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

range_request parse_byte_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view unit = "bytes=";
  if (!header.starts_with(unit)) return {};
  const std::string_view spec = header.substr(unit.size());
  const std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find(',') != std::string_view::npos) return {};
  const std::string_view from = spec.substr(0, dash);
  const std::string_view to = spec.substr(dash + 1);
  if (from.empty()) {  // "-N": the last N bytes
    const auto suffix = number(to);
    if (!suffix) return {};
    if (*suffix == 0 || size == 0) return {false, std::nullopt};
    const std::uint64_t length = *suffix < size ? *suffix : size;
    return {true, byte_range{size - length, size - 1}};
  }
  const auto first = number(from);
  const auto last = to.empty() ? std::optional<std::uint64_t>(size - 1) : number(to);
  if (!first || !last) return {};
  if (*first >= size) return {false, std::nullopt};
  if (*last < *first) return {};
  return {true, byte_range{*first, *last < size ? *last : size - 1}};
}

}  // namespace streamgate
