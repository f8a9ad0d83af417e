// The frames of the worker's wire codec (common/wire/worker_codec.hpp, docs/design.md §10): the
// tag of each alternative of reply_body and event_body, and how a whole frame is encoded and
// decoded around the alternative's value. The values themselves are put and got in
// worker_codec_values.cpp: a new alternative needs a tag here, a new field a line there.
//
// Layout of version 2 (version 1's clock_reading had no life and no count). A frame is [version
// byte][tag byte][the alternative's value]; a value is its fields in declaration order
// (worker_codec_values.cpp writes and reads them), each as follows:
//   std::string            varint length, then the bytes
//   int, std::int64_t      zigzag varint (an int out of int's range is refused)
//   std::uint64_t          varint
//   bool                   one byte, 0 or 1
//   enum                   varint of its enumerator's number (one past the last is refused)
//   std::optional<T>       presence byte 0 or 1, then T when 1
//   std::vector<T>         varint count, then the elements
//   std::array<T, N>       the N elements, no count
//   user                   every field but token_hash, which never leaves the worker
//   std::monostate         nothing

#include "common/wire/worker_codec.hpp"

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "common/wire/wire_buffer.hpp"
#include "common/wire/worker_codec_values.hpp"

namespace streamgate {

namespace {

// The tag of each alternative, shared by replies and events (a verdict is 6 in both). A frame's
// meaning must not depend on the order of the variants' alternatives, so tags are numbered
// here: a new alternative takes a new number and a number is never reused.
enum class body_tag : unsigned char {
  no_body = 1,
  error = 2,
  user_view = 3,
  user_views = 4,
  streams = 5,
  verdict = 6,
  lease = 7,
  user_snapshot = 8,
  video = 9,
  videos = 10,
  plans = 11,
  audit_entries = 12,
  worker_stats = 13,
  ended = 14,
  access_revoked = 15,
  clock_reading = 16,
};

// Declared only: an alternative without a tag below does not compile.
template <class T>
struct tag_of;
template <body_tag Tag>
struct tagged {
  static constexpr body_tag value = Tag;
};
template <>
struct tag_of<std::monostate> : tagged<body_tag::no_body> {};
template <>
struct tag_of<error> : tagged<body_tag::error> {};
template <>
struct tag_of<user_view> : tagged<body_tag::user_view> {};
template <>
struct tag_of<std::vector<user_view>> : tagged<body_tag::user_views> {};
template <>
struct tag_of<std::vector<stream>> : tagged<body_tag::streams> {};
template <>
struct tag_of<verdict> : tagged<body_tag::verdict> {};
template <>
struct tag_of<lease> : tagged<body_tag::lease> {};
template <>
struct tag_of<clock_reading> : tagged<body_tag::clock_reading> {};
template <>
struct tag_of<user_snapshot> : tagged<body_tag::user_snapshot> {};
template <>
struct tag_of<video> : tagged<body_tag::video> {};
template <>
struct tag_of<std::vector<video>> : tagged<body_tag::videos> {};
template <>
struct tag_of<std::vector<plan>> : tagged<body_tag::plans> {};
template <>
struct tag_of<std::vector<audit_entry>> : tagged<body_tag::audit_entries> {};
template <>
struct tag_of<worker_stats> : tagged<body_tag::worker_stats> {};
template <>
struct tag_of<ended_event> : tagged<body_tag::ended> {};
template <>
struct tag_of<access_revoked> : tagged<body_tag::access_revoked> {};

template <class... Ts>
constexpr bool distinct_tags() {
  const std::array<body_tag, sizeof...(Ts)> tags{tag_of<Ts>::value...};
  for (std::size_t i = 0; i < tags.size(); ++i)
    for (std::size_t j = i + 1; j < tags.size(); ++j)
      if (tags[i] == tags[j]) return false;
  return true;
}

// ---- frames -------------------------------------------------------------------------------------

template <class... Ts>
std::string encode_frame(const std::variant<Ts...>& body) {
  std::string frame;
  wire_writer w(frame);
  w.write_byte(worker_codec_version);
  std::visit(
      [&w]<class T>(const T& value) {
        w.write_byte(static_cast<unsigned char>(tag_of<T>::value));
        worker_codec_detail::put(w, value);
      },
      body);
  return frame;
}

// Decodes the alternative T into `out` when `tag` is T's; true when the tag was T's, decoded
// or not, which ends the search: no other alternative has it.
template <class T, class Variant>
bool decode_if_tagged(wire_reader& r, unsigned char tag, std::optional<Variant>& out) {
  if (tag != static_cast<unsigned char>(tag_of<T>::value)) return false;
  T value{};
  if (worker_codec_detail::get(r, value)) out.emplace(std::in_place_type<T>, std::move(value));
  return true;
}

template <class... Ts>
std::optional<std::variant<Ts...>> decode_frame(std::string_view frame,
                                                std::type_identity<std::variant<Ts...>>) {
  static_assert(distinct_tags<Ts...>(), "two alternatives of one variant share a tag");
  wire_reader r(frame);
  unsigned char version = 0;
  unsigned char tag = 0;
  if (!r.read_byte(version) || version != worker_codec_version || !r.read_byte(tag))
    return std::nullopt;
  std::optional<std::variant<Ts...>> body;
  (decode_if_tagged<Ts>(r, tag, body) || ...);
  if (!r.at_end()) return std::nullopt;
  return body;
}

}  // namespace

std::string encode_reply_body(const reply_body& body) { return encode_frame(body); }

std::optional<reply_body> decode_reply_body(std::string_view frame) {
  return decode_frame(frame, std::type_identity<reply_body>{});
}

std::string encode_event_body(const event_body& body) { return encode_frame(body); }

std::optional<event_body> decode_event_body(std::string_view frame) {
  return decode_frame(frame, std::type_identity<event_body>{});
}

}  // namespace streamgate
