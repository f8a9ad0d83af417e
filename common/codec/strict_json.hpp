#pragma once

// The strict JSON reader and writer the codecs of common/codec.hpp and the api's views
// (api/views) are built on; RapidJSON stays behind them. Writing: render() on a
// per-thread buffer, put*() for members. Reading: parsed_json (bounded depth, valid UTF-8, one
// object), then a field_reader that refuses unknown, duplicate and missing members and names the
// field in its message (docs/design.md §5).

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "common/domain.hpp"
#include "common/error.hpp"
#include "common/ids.hpp"
#include "common/messages.hpp"

namespace streamgate::codec_detail {

// ---- UTF-8 ----------------------------------------------------------------------------------

bool is_valid_utf8(std::string_view text);
// Text safe to put in a message: valid UTF-8 (other bytes become '?') without control
// characters, so an error body or a log line stays well-formed whatever a client sent.
std::string sanitized(std::string_view text, std::size_t max_bytes);
// Client text quoted in an error message, cut short: a message never grows with the input.
std::string quote(std::string_view text);

// ---- encoding -------------------------------------------------------------------------------

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Most messages are well under 1 KiB; the buffer is kept per thread so that encoding allocates
// only the returned string. A buffer that grew for a large body is given back afterwards.
inline constexpr std::size_t initial_buffer_bytes = 1024;
inline constexpr std::size_t retained_buffer_bytes = 64 * 1024;

struct encoder final {
  rapidjson::StringBuffer buffer{nullptr, initial_buffer_bytes};
  json_writer writer{buffer};
};

encoder& this_thread_encoder();

// Runs write on this thread's writer and returns the JSON text. Not reentrant: write must not
// call render itself (the write_* helpers take the writer instead).
template <class Write>
std::string render(Write&& write) {
  encoder& state = this_thread_encoder();
  state.buffer.Clear();
  state.writer.Reset(state.buffer);
  std::forward<Write>(write)(state.writer);
  std::string text(state.buffer.GetString(), state.buffer.GetSize());
  if (text.size() > retained_buffer_bytes)
    state.buffer = rapidjson::StringBuffer(nullptr, initial_buffer_bytes);
  return text;
}

inline rapidjson::SizeType json_size(std::string_view text) {
  return static_cast<rapidjson::SizeType>(text.size());
}

void put_key(json_writer& w, std::string_view key);
void put_string(json_writer& w, std::string_view text);
void put(json_writer& w, std::string_view key, std::string_view text);
void put_int(json_writer& w, std::string_view key, int number);
void put_time(json_writer& w, std::string_view key, std::int64_t wall_ms);

// ---- decoding: parsing ------------------------------------------------------------------------

using json_pool = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
using json_document = rapidjson::GenericDocument<rapidjson::UTF8<>, json_pool, json_pool>;
using json_value = json_document::ValueType;

// One parsed message. The pools start in buffers inside this object (on the caller's stack), so
// a typical request parses without a heap allocation; bigger ones spill into heap chunks.
class parsed_json final {
 public:
  parsed_json() = default;
  parsed_json(const parsed_json&) = delete;
  parsed_json& operator=(const parsed_json&) = delete;

  // The root of a successful parse, always an object.
  result<const json_value*> parse(std::string_view json);

 private:
  static constexpr std::size_t value_bytes = 4096;
  static constexpr std::size_t stack_bytes = 2048;
  static constexpr std::size_t document_stack_bytes = 512;
  static constexpr std::size_t reader_stack_bytes = 256;

  alignas(std::max_align_t) char value_buffer_[value_bytes];
  alignas(std::max_align_t) char stack_buffer_[stack_bytes];
  json_pool value_pool_{value_buffer_, value_bytes};
  json_pool stack_pool_{stack_buffer_, stack_bytes};
  json_document document_{&value_pool_, document_stack_bytes, &stack_pool_};
};

inline std::string_view string_of(const json_value& v) { return {v.GetString(), v.GetStringLength()}; }

// ---- decoding: fields -------------------------------------------------------------------------

// Every member name any decoder knows. A decoder allows a subset, so an unknown name and a name
// that belongs to another message are refused alike.
enum class field : unsigned {
  op,
  corr,
  type,
  request_id,
  user_id,
  video_id,
  session_id,
  stream_id,
  id,
  name,
  max_streams,
  policy,
  users,
  videos,
  title,
  duration_seconds,
  limit,
  token_hash,
  plan,
  plans,
  after,
  request_id_made,
  deadline,
  clock_offset,
  count,
};

inline constexpr std::array<std::string_view, static_cast<std::size_t>(field::count)> field_names{
    "op",     "corr",          "type",       "requestId",
    "userId", "videoId",       "sessionId",  "streamId",
    "id",     "name",          "maxStreams", "policy",
    "users",  "videos",        "title",      "durationSeconds",
    "limit",  "tokenHash",     "plan",       "plans",
    "after",  "requestIdMade", "deadline",   "clockOffset",
};

static_assert(std::none_of(field_names.begin(), field_names.end(),
                           [](std::string_view name) { return name.empty(); }),
              "every field has a name");

using field_set = std::uint32_t;
static_assert(field_names.size() <= std::numeric_limits<field_set>::digits);

constexpr std::size_t index_of(field f) { return static_cast<std::size_t>(f); }

template <class... Fields>
constexpr field_set fields(Fields... f) {
  return (field_set{0} | ... | (field_set{1} << index_of(f)));
}

inline constexpr std::size_t no_index = static_cast<std::size_t>(-1);

// Matches the members of one JSON object to the fields a message allows, then converts them one
// by one. The first failure is kept and later reads return empty values, so a decoder reads its
// fields in a straight line and checks failed() once.
class field_reader final {
 public:
  // parent and index locate a nested object in messages: "users", 2 -> "users[2].name".
  field_reader(const json_value& object, field_set allowed, field_set required,
               std::string_view parent = {}, std::size_t index = no_index)
      : parent_(parent), index_(index) {
    for (auto m = object.MemberBegin(); m != object.MemberEnd(); ++m) {
      const std::string_view key = string_of(m->name);
      const std::size_t slot = find(key, allowed);
      if (slot == no_index) {
        fail("unknown field " + quote(label(key)));
        return;
      }
      if (slots_[slot] != nullptr) {
        fail("duplicate field " + quote(label(key)));
        return;
      }
      slots_[slot] = &m->value;
    }
    for (field_set missing = required; missing != 0; missing &= missing - 1) {
      const auto slot = static_cast<std::size_t>(std::countr_zero(missing));
      if (slots_[slot] == nullptr) {
        fail("missing field " + quote(label(field_names[slot])));
        return;
      }
    }
  }

  bool failed() const { return failure_.has_value(); }
  error take_error() { return std::move(*failure_); }
  void fail(std::string message) {
    if (!failure_) failure_ = bad_request(std::move(message));
  }

  bool has(field f) const { return slots_[index_of(f)] != nullptr; }

  std::string id(field f) {
    const json_value* v = get(f);
    if (v == nullptr) return {};
    if (v->IsString() && is_valid_id(string_of(*v))) return std::string(string_of(*v));
    must(f, "be an id matching [A-Za-z0-9_-]{1,64}");
    return {};
  }

  std::optional<std::string> optional_id(field f) {
    if (!has(f)) return std::nullopt;
    return id(f);
  }

  // A name or a title: valid UTF-8 of at most max_name_length bytes.
  std::string text(field f, bool may_be_empty) {
    const json_value* v = get(f);
    if (v == nullptr) return {};
    if (v->IsString()) {
      const std::string_view s = string_of(*v);
      // The reader validates raw bytes, but a lone "\udc00" escape decodes to a surrogate.
      if (!is_valid_utf8(s)) {
        must(f, "be valid UTF-8");
        return {};
      }
      if ((may_be_empty || !s.empty()) && s.size() <= max_name_length) return std::string(s);
    }
    must(f, std::string(may_be_empty ? "be a string" : "be a non-empty string") + " of at most " +
                std::to_string(max_name_length) + " bytes");
    return {};
  }

  std::optional<std::string> optional_text(field f) {
    if (!has(f)) return std::nullopt;
    return text(f, false);
  }

  int integer(field f, int min, int max) {
    const json_value* v = get(f);
    if (v == nullptr) return 0;
    if (v->IsInt() && v->GetInt() >= min && v->GetInt() <= max) return v->GetInt();
    must(f, "be an integer from " + std::to_string(min) + " to " + std::to_string(max));
    return 0;
  }

  std::optional<int> optional_max_streams(field f) {
    if (!has(f)) return std::nullopt;
    return integer(f, 1, max_streams_ceiling);
  }

  std::optional<policy> optional_policy(field f) {
    const json_value* v = get(f);
    if (v == nullptr) return std::nullopt;
    if (v->IsString())
      if (const auto p = parse_policy(string_of(*v))) return p;
    must(f, "be 'deny', 'evict_oldest' or 'monitor'");
    return std::nullopt;
  }

  // A SHA-256 digest as 64 lowercase hex digits.
  std::string sha256_hex(field f) {
    const json_value* v = get(f);
    if (v == nullptr) return {};
    if (v->IsString()) {
      const std::string_view s = string_of(*v);
      const auto is_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
      if (s.size() == 64 && std::all_of(s.begin(), s.end(), is_hex)) return std::string(s);
    }
    must(f, "be a SHA-256 digest in 64 lowercase hex digits");
    return {};
  }

  std::optional<std::string> optional_sha256_hex(field f) {
    if (!has(f)) return std::nullopt;
    return sha256_hex(f);
  }

  // Only `true` is written (an absent flag is false), so only `true` is read.
  bool flag(field f) {
    const json_value* v = get(f);
    if (v == nullptr) return false;
    if (v->IsTrue()) return true;
    must(f, "be true when present");
    return false;
  }

  std::uint64_t uint64(field f) {
    const json_value* v = get(f);
    if (v == nullptr) return 0;
    if (v->IsUint64()) return v->GetUint64();
    must(f, "be an unsigned 64-bit integer");
    return 0;
  }

  // Null when absent or on failure.
  const json_value* array(field f) {
    const json_value* v = get(f);
    if (v == nullptr || v->IsArray()) return v;
    must(f, "be an array");
    return nullptr;
  }

  // "users[2].name", the name of a field as a message shows it.
  std::string label(std::string_view name) const {
    std::string rendered(parent_);
    // Appended piece by piece: GCC 12 at -O3 takes "[" + string for an overlapping memcpy.
    if (index_ != no_index) rendered.append("[").append(std::to_string(index_)).append("]");
    if (!rendered.empty()) rendered += '.';
    rendered += name;
    return rendered;
  }

 private:
  static std::size_t find(std::string_view key, field_set allowed) {
    for (field_set rest = allowed; rest != 0; rest &= rest - 1) {
      const auto slot = static_cast<std::size_t>(std::countr_zero(rest));
      if (field_names[slot] == key) return slot;
    }
    return no_index;
  }

  const json_value* get(field f) const { return failed() ? nullptr : slots_[index_of(f)]; }

  void must(field f, std::string_view expectation) {
    fail("field " + quote(label(field_names[index_of(f)])) + " must " + std::string(expectation));
  }

  std::string_view parent_;
  std::size_t index_;
  std::array<const json_value*, field_names.size()> slots_{};
  std::optional<error> failure_;
};

// Parses json, matches the root object's fields and hands the reader to read, which returns the
// decoded value; any failure along the way becomes the bad_request.
template <class T, class Read>
result<T> decode_object(std::string_view json, field_set allowed, field_set required, Read&& read) {
  parsed_json parsed;
  const auto root = parsed.parse(json);
  if (!root) return root.error();
  field_reader reader(**root, allowed, required);
  T value = std::forward<Read>(read)(reader);
  if (reader.failed()) return reader.take_error();
  return value;
}

}  // namespace streamgate::codec_detail
