#include "common/codec.hpp"

#include <rapidjson/document.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <unordered_set>
#include <utility>

#include "common/clock.hpp"
#include "common/ids.hpp"

namespace streamgate {

namespace {

// ---- UTF-8 ----------------------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence starting at text[at], or 0 when there is none
// (overlong forms, surrogates and code points above U+10FFFF are not well-formed).
std::size_t utf8_sequence_length(std::string_view text, std::size_t at) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) low = 0xa0;
    if (lead == 0xed) high = 0x9f;  // U+D800..U+DFFF are surrogates, not characters
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) low = 0x90;
    if (lead == 0xf4) high = 0x8f;
  } else {
    return 0;
  }
  if (text.size() - at < length) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if (byte(at + i) < 0x80 || byte(at + i) > 0xbf) return 0;
  return length;
}

bool is_valid_utf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8_sequence_length(text, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

// Text safe to put in a message: valid UTF-8 (other bytes become '?') without control
// characters, so an error body or a log line stays well-formed whatever a client sent.
std::string sanitized(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes + 3));
  for (std::size_t at = 0; at < text.size();) {
    if (out.size() >= max_bytes) {
      out += "...";
      break;
    }
    const std::size_t length = utf8_sequence_length(text, at);
    if (length == 0 || (length == 1 && static_cast<unsigned char>(text[at]) < 0x20)) {
      out.push_back('?');
      ++at;
      continue;
    }
    out.append(text, at, length);
    at += length;
  }
  return out;
}

// Client text quoted in an error message is cut short: a message never grows with the input.
constexpr std::size_t max_quoted_bytes = 64;

std::string quote(std::string_view text) { return "'" + sanitized(text, max_quoted_bytes) + "'"; }

// ---- encoding -------------------------------------------------------------------------------

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Most messages are well under 1 KiB; the buffer is kept per thread so that encoding allocates
// only the returned string. A buffer that grew for a large body is given back afterwards.
constexpr std::size_t initial_buffer_bytes = 1024;
constexpr std::size_t retained_buffer_bytes = 64 * 1024;

struct encoder final {
  rapidjson::StringBuffer buffer{nullptr, initial_buffer_bytes};
  json_writer writer{buffer};
};

encoder& this_thread_encoder() {
  thread_local encoder state;
  return state;
}

// Runs write on this thread's writer and returns the JSON text. Not reentrant: write must not
// call render itself (the write_* helpers below take the writer instead).
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

rapidjson::SizeType json_size(std::string_view text) {
  return static_cast<rapidjson::SizeType>(text.size());
}

void put_key(json_writer& w, std::string_view key) { w.Key(key.data(), json_size(key)); }

void put_string(json_writer& w, std::string_view text) { w.String(text.data(), json_size(text)); }

void put(json_writer& w, std::string_view key, std::string_view text) {
  put_key(w, key);
  put_string(w, text);
}

void put_int(json_writer& w, std::string_view key, int number) {
  put_key(w, key);
  w.Int(number);
}

void put_time(json_writer& w, std::string_view key, std::int64_t wall_ms) {
  put(w, key, format_iso8601(wall_ms));
}

void write_stream(json_writer& w, const stream& s) {
  w.StartObject();
  put(w, "streamId", s.stream_id);
  put(w, "userId", s.user_id);
  put(w, "videoId", s.video_id);
  put(w, "sessionId", s.session_id);
  put_time(w, "startedAt", s.started_at_ms);
  put_time(w, "expiresAt", s.expires_at_ms);
  w.EndObject();
}

void write_streams(json_writer& w, const std::vector<stream>& streams) {
  w.StartArray();
  for (const stream& s : streams) write_stream(w, s);
  w.EndArray();
}

// An allowed verdict always carries its stream; null keeps the shape if that were ever broken.
void write_granted(json_writer& w, const verdict& v) {
  put_key(w, "stream");
  if (v.granted)
    write_stream(w, *v.granted);
  else
    w.Null();
}

void write_user(json_writer& w, const user& u, int limit, policy effective_policy, int active) {
  w.StartObject();
  put(w, "id", u.id);
  put(w, "name", u.name);
  put_int(w, "maxStreams", limit);
  put(w, "policy", to_string(effective_policy));
  if (u.plan) put(w, "plan", *u.plan);
  put_int(w, "activeStreams", active);
  w.EndObject();
}

void write_plan(json_writer& w, const plan& p) {
  w.StartObject();
  put(w, "id", p.id);
  put_int(w, "maxStreams", p.max_streams);
  put(w, "policy", to_string(p.limit_policy));
  w.EndObject();
}

// Only a start the monitor policy let through over the limit says so; the rest keep their shape.
void write_over_limit(json_writer& w, const verdict& v) {
  if (!v.allowed || !v.over_limit) return;
  put_key(w, "overLimit");
  w.Bool(true);
}

void write_video(json_writer& w, const video& v) {
  w.StartObject();
  put(w, "id", v.id);
  put(w, "title", v.title);
  put_int(w, "durationSeconds", v.duration_seconds);
  w.EndObject();
}

// ---- decoding: parsing ------------------------------------------------------------------------

using json_pool = rapidjson::MemoryPoolAllocator<rapidjson::CrtAllocator>;
using json_document = rapidjson::GenericDocument<rapidjson::UTF8<>, json_pool, json_pool>;
using json_value = json_document::ValueType;

// Iterative: the reader keeps its own heap stack, so hostile nesting cannot overflow ours.
constexpr unsigned parse_flags =
    rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag;

// Forwards SAX events to the document and stops the reader one level past max_json_depth, so
// 100000 '[' cost 17 levels of work, not 100000. The member names are RapidJSON's handler
// concept, hence not snake_case.
class depth_limiter final {
 public:
  explicit depth_limiter(json_document& document) : document_(document) {}

  bool Null() { return document_.Null(); }
  bool Bool(bool b) { return document_.Bool(b); }
  bool Int(int i) { return document_.Int(i); }
  bool Uint(unsigned u) { return document_.Uint(u); }
  bool Int64(std::int64_t i) { return document_.Int64(i); }
  bool Uint64(std::uint64_t u) { return document_.Uint64(u); }
  bool Double(double d) { return document_.Double(d); }
  bool RawNumber(const char* text, rapidjson::SizeType length, bool copy) {
    return document_.RawNumber(text, length, copy);
  }
  bool String(const char* text, rapidjson::SizeType length, bool copy) {
    return document_.String(text, length, copy);
  }
  bool Key(const char* text, rapidjson::SizeType length, bool copy) {
    return document_.Key(text, length, copy);
  }
  bool StartObject() { return enter() && document_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return document_.EndObject(members);
  }
  bool StartArray() { return enter() && document_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return document_.EndArray(elements);
  }

  bool too_deep() const { return too_deep_; }

 private:
  bool enter() {
    if (++depth_ <= max_json_depth) return true;
    too_deep_ = true;
    return false;
  }

  json_document& document_;
  std::size_t depth_ = 0;
  bool too_deep_ = false;
};

std::string_view parse_problem(rapidjson::ParseErrorCode code) {
  switch (code) {
    case rapidjson::kParseErrorDocumentEmpty:
      return "it is empty";
    case rapidjson::kParseErrorDocumentRootNotSingular:
      return "text follows the value";
    case rapidjson::kParseErrorNumberTooBig:
      return "a number is too big";
    case rapidjson::kParseErrorStringMissQuotationMark:
      return "a string is not closed";
    case rapidjson::kParseErrorStringEscapeInvalid:
    case rapidjson::kParseErrorStringUnicodeEscapeInvalidHex:
      return "a string has a bad escape or a raw control character";
    default:
      return "syntax error";
  }
}

// One parsed message. The pools start in buffers inside this object (on the caller's stack), so
// a typical request parses without a heap allocation; bigger ones spill into heap chunks.
class parsed_json final {
 public:
  parsed_json() = default;
  parsed_json(const parsed_json&) = delete;
  parsed_json& operator=(const parsed_json&) = delete;

  // The root of a successful parse, always an object.
  result<const json_value*> parse(std::string_view json) {
    rapidjson::MemoryStream input(json.data(), json.size());
    rapidjson::GenericReader<rapidjson::UTF8<>, rapidjson::UTF8<>, json_pool> reader(
        &stack_pool_, reader_stack_bytes);
    depth_limiter limiter(document_);
    auto generate = [&](json_document&) {
      return !reader.Parse<parse_flags>(input, limiter).IsError();
    };
    document_.Populate(generate);
    if (limiter.too_deep())
      return bad_request("JSON nested deeper than " + std::to_string(max_json_depth));
    if (reader.HasParseError()) {
      const rapidjson::ParseErrorCode code = reader.GetParseErrorCode();
      if (code == rapidjson::kParseErrorStringInvalidEncoding ||
          code == rapidjson::kParseErrorStringUnicodeSurrogateInvalid)
        return bad_request("body is not valid UTF-8");
      return bad_request("body is not valid JSON: " + std::string(parse_problem(code)) +
                         " at byte " + std::to_string(reader.GetErrorOffset()));
    }
    // The reader takes a NUL byte for the end of its input; whatever follows it is refused here.
    if (input.Tell() != json.size())
      return bad_request("body is not valid JSON: text follows the value at byte " +
                         std::to_string(input.Tell()));
    if (!document_.IsObject()) return bad_request("body must be a JSON object");
    return &static_cast<const json_value&>(document_);
  }

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

std::string_view string_of(const json_value& v) { return {v.GetString(), v.GetStringLength()}; }

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
  count,
};

constexpr std::array<std::string_view, static_cast<std::size_t>(field::count)> field_names{
    "op",     "corr",      "type",       "requestId",
    "userId", "videoId",   "sessionId",  "streamId",
    "id",     "name",      "maxStreams", "policy",
    "users",  "videos",    "title",      "durationSeconds",
    "limit",  "tokenHash", "plan",       "plans",
    "after",
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

constexpr std::size_t no_index = static_cast<std::size_t>(-1);

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
    if (index_ != no_index) rendered += "[" + std::to_string(index_) + "]";
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

// ---- api <-> worker requests -----------------------------------------------------------------

struct op_spec {
  std::string_view name;
  field_set required;
  field_set optional;
};

// In the order of request_body's alternatives: an alternative's index is its op.
constexpr std::array<op_spec, std::variant_size_v<request_body>> op_specs{{
    {"start", fields(field::request_id, field::user_id, field::video_id, field::session_id), 0},
    {"heartbeat", fields(field::user_id, field::stream_id), 0},
    {"stop", fields(field::user_id, field::stream_id), 0},
    {"stop_all", fields(field::user_id), 0},
    {"get_user", fields(field::user_id), 0},
    {"list_users", fields(field::name, field::limit), fields(field::after)},
    {"create_user", fields(field::name),
     fields(field::id, field::max_streams, field::policy, field::token_hash, field::plan)},
    {"patch_user", fields(field::user_id),
     fields(field::name, field::max_streams, field::policy, field::plan)},
    {"list_streams", fields(field::user_id), 0},
    {"snapshot", fields(field::user_id), 0},
    {"list_videos", 0, 0},
    {"get_video", fields(field::video_id), 0},
    {"get_request", fields(field::request_id), fields(field::user_id)},
    {"ping", 0, 0},
    {"list_events", fields(field::user_id, field::limit), 0},
    {"authenticate", fields(field::user_id, field::token_hash), 0},
    {"stats", 0, 0},
    {"list_plans", 0, 0},
    {"rotate_token", fields(field::user_id, field::token_hash), 0},
    {"delete_user", fields(field::user_id), 0},
}};

// What a client may set on a user, in POST /api/v1/users and PATCH /api/v1/users/{id} alike.
constexpr field_set user_fields =
    fields(field::name, field::max_streams, field::policy, field::plan);

void put_user_fields(json_writer& w, const std::optional<std::string>& name,
                     const std::optional<int>& max_streams, const std::optional<policy>& p,
                     const std::optional<std::string>& plan_id) {
  if (name) put(w, "name", *name);
  if (max_streams) put_int(w, "maxStreams", *max_streams);
  if (p) put(w, "policy", to_string(*p));
  if (plan_id) put(w, "plan", *plan_id);
}

void write_fields(json_writer& w, const start_request& r) {
  put(w, "requestId", r.request_id);
  put(w, "userId", r.user_id);
  put(w, "videoId", r.video_id);
  put(w, "sessionId", r.session_id);
}
void write_fields(json_writer& w, const heartbeat_request& r) {
  put(w, "userId", r.user_id);
  put(w, "streamId", r.stream_id);
}
void write_fields(json_writer& w, const stop_request& r) {
  put(w, "userId", r.user_id);
  put(w, "streamId", r.stream_id);
}
void write_fields(json_writer& w, const stop_all_request& r) { put(w, "userId", r.user_id); }
void write_fields(json_writer& w, const get_user_request& r) { put(w, "userId", r.user_id); }
void write_fields(json_writer& w, const list_users_request& r) {
  put(w, "name", r.name_filter);
  if (r.after) put(w, "after", *r.after);
  put_int(w, "limit", r.limit);
}
void write_fields(json_writer& w, const create_user_request& r) {
  if (r.id) put(w, "id", *r.id);
  put(w, "name", r.name);
  put_user_fields(w, std::nullopt, r.max_streams, r.policy_override, r.plan);
  if (r.token_hash) put(w, "tokenHash", *r.token_hash);
}
void write_fields(json_writer& w, const patch_user_request& r) {
  put(w, "userId", r.user_id);
  put_user_fields(w, r.name, r.max_streams, r.policy_override, r.plan);
}
void write_fields(json_writer& w, const list_streams_request& r) { put(w, "userId", r.user_id); }
void write_fields(json_writer& w, const snapshot_request& r) { put(w, "userId", r.user_id); }
void write_fields(json_writer&, const list_videos_request&) {}
void write_fields(json_writer& w, const get_video_request& r) { put(w, "videoId", r.video_id); }
void write_fields(json_writer& w, const get_request_request& r) {
  put(w, "requestId", r.request_id);
  if (r.owner_id) put(w, "userId", *r.owner_id);
}
void write_fields(json_writer&, const ping_request&) {}
void write_fields(json_writer& w, const list_events_request& r) {
  put(w, "userId", r.user_id);
  put_int(w, "limit", r.limit);
}
void write_fields(json_writer& w, const authenticate_request& r) {
  put(w, "userId", r.user_id);
  put(w, "tokenHash", r.token_hash);
}
void write_fields(json_writer&, const stats_request&) {}
void write_fields(json_writer&, const list_plans_request&) {}
void write_fields(json_writer& w, const rotate_token_request& r) {
  put(w, "userId", r.user_id);
  put(w, "tokenHash", r.token_hash);
}
void write_fields(json_writer& w, const delete_user_request& r) { put(w, "userId", r.user_id); }

void read_fields(field_reader& f, start_request& r) {
  r.request_id = f.id(field::request_id);
  r.user_id = f.id(field::user_id);
  r.video_id = f.id(field::video_id);
  r.session_id = f.id(field::session_id);
}
void read_fields(field_reader& f, heartbeat_request& r) {
  r.user_id = f.id(field::user_id);
  r.stream_id = f.id(field::stream_id);
}
void read_fields(field_reader& f, stop_request& r) {
  r.user_id = f.id(field::user_id);
  r.stream_id = f.id(field::stream_id);
}
void read_fields(field_reader& f, stop_all_request& r) { r.user_id = f.id(field::user_id); }
void read_fields(field_reader& f, get_user_request& r) { r.user_id = f.id(field::user_id); }
void read_fields(field_reader& f, list_users_request& r) {
  r.name_filter = f.text(field::name, true);
  r.after = f.optional_id(field::after);
  r.limit = f.integer(field::limit, 1, max_users_page + 1);
}
void read_fields(field_reader& f, create_user_request& r) {
  r.id = f.optional_id(field::id);
  r.name = f.text(field::name, false);
  r.max_streams = f.optional_max_streams(field::max_streams);
  r.policy_override = f.optional_policy(field::policy);
  r.token_hash = f.optional_sha256_hex(field::token_hash);
  r.plan = f.optional_id(field::plan);
}
// A patch that changes nothing is refused on both sides of the wire: it is a client mistake.
void read_patch_fields(field_reader& f, patch_user_request& r) {
  r.name = f.optional_text(field::name);
  r.max_streams = f.optional_max_streams(field::max_streams);
  r.policy_override = f.optional_policy(field::policy);
  r.plan = f.optional_id(field::plan);
  if (!f.has(field::name) && !f.has(field::max_streams) && !f.has(field::policy) &&
      !f.has(field::plan))
    f.fail("at least one of 'name', 'maxStreams', 'policy', 'plan' is required");
}
void read_fields(field_reader& f, patch_user_request& r) {
  r.user_id = f.id(field::user_id);
  read_patch_fields(f, r);
}
void read_fields(field_reader& f, list_streams_request& r) { r.user_id = f.id(field::user_id); }
void read_fields(field_reader& f, snapshot_request& r) { r.user_id = f.id(field::user_id); }
void read_fields(field_reader&, list_videos_request&) {}
void read_fields(field_reader& f, get_video_request& r) { r.video_id = f.id(field::video_id); }
void read_fields(field_reader& f, get_request_request& r) {
  r.request_id = f.id(field::request_id);
  r.owner_id = f.optional_id(field::user_id);
}
void read_fields(field_reader&, ping_request&) {}
void read_fields(field_reader& f, list_events_request& r) {
  r.user_id = f.id(field::user_id);
  r.limit = f.integer(field::limit, 1, max_audit_limit);
}
void read_fields(field_reader& f, authenticate_request& r) {
  r.user_id = f.id(field::user_id);
  r.token_hash = f.sha256_hex(field::token_hash);
}
void read_fields(field_reader&, stats_request&) {}
void read_fields(field_reader&, list_plans_request&) {}
void read_fields(field_reader& f, rotate_token_request& r) {
  r.user_id = f.id(field::user_id);
  r.token_hash = f.sha256_hex(field::token_hash);
}
void read_fields(field_reader& f, delete_user_request& r) { r.user_id = f.id(field::user_id); }

template <class Body>
request_body read_body(field_reader& f) {
  Body body;
  read_fields(f, body);
  return body;
}

template <std::size_t... I>
constexpr auto make_body_readers(std::index_sequence<I...>) {
  return std::array<request_body (*)(field_reader&), sizeof...(I)>{
      &read_body<std::variant_alternative_t<I, request_body>>...};
}

constexpr auto body_readers =
    make_body_readers(std::make_index_sequence<std::variant_size_v<request_body>>{});

}  // namespace

// ---- api <-> worker ------------------------------------------------------------------------

std::string encode_request(const request& r) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "op", op_specs[r.body.index()].name);
    put_key(w, "corr");
    w.Uint64(r.corr);
    std::visit([&](const auto& body) { write_fields(w, body); }, r.body);
    w.EndObject();
  });
}

result<request> decode_request(std::string_view json) {
  parsed_json parsed;
  const auto root = parsed.parse(json);
  if (!root) return root.error();
  const auto op = (*root)->FindMember("op");
  if (op == (*root)->MemberEnd()) return bad_request("missing field 'op'");
  if (!op->value.IsString()) return bad_request("field 'op' must be a string");
  const std::string_view op_name = string_of(op->value);
  const auto spec = std::find_if(op_specs.begin(), op_specs.end(),
                                 [&](const op_spec& s) { return s.name == op_name; });
  if (spec == op_specs.end()) return bad_request("unknown op " + quote(op_name));

  const field_set envelope = fields(field::op, field::corr);
  field_reader f(**root, envelope | spec->required | spec->optional, envelope | spec->required);
  request r;
  r.corr = f.uint64(field::corr);
  r.body = body_readers[static_cast<std::size_t>(spec - op_specs.begin())](f);
  if (f.failed()) return f.take_error();
  return r;
}

// ---- bodies from HTTP clients ------------------------------------------------------------------

namespace {

constexpr field_set start_fields = fields(field::video_id, field::session_id, field::request_id);

create_user_request read_create_user(field_reader& f) {
  create_user_request r;
  read_fields(f, r);
  return r;
}

start_body read_start_body(field_reader& f) {
  start_body body;
  body.video_id = f.id(field::video_id);
  body.session_id = f.optional_id(field::session_id);
  body.request_id = f.optional_id(field::request_id);
  return body;
}

}  // namespace

result<start_body> decode_start_body(std::string_view json) {
  return decode_object<start_body>(json, start_fields, fields(field::video_id), read_start_body);
}

result<create_user_request> decode_create_user_body(std::string_view json) {
  return decode_object<create_user_request>(json, user_fields | fields(field::id),
                                            fields(field::name), read_create_user);
}

result<patch_user_request> decode_patch_user_body(std::string_view json, std::string user_id) {
  if (!is_valid_id(user_id))
    return bad_request("user id " + quote(user_id) + " must match [A-Za-z0-9_-]{1,64}");
  return decode_object<patch_user_request>(json, user_fields, 0, [&](field_reader& f) {
    patch_user_request r;
    r.user_id = std::move(user_id);
    read_patch_fields(f, r);
    return r;
  });
}

// ---- WebSocket client -> server -----------------------------------------------------------------

result<ws_client_message> decode_ws_client_message(std::string_view json) {
  parsed_json parsed;
  const auto root = parsed.parse(json);
  if (!root) return root.error();
  const auto type = (*root)->FindMember("type");
  if (type == (*root)->MemberEnd()) return bad_request("missing field 'type'");
  if (!type->value.IsString()) return bad_request("field 'type' must be a string");
  const std::string_view name = string_of(type->value);

  const field_set envelope = fields(field::type);
  if (name == "start") {
    field_reader f(**root, envelope | start_fields, envelope | fields(field::video_id));
    ws_start message{read_start_body(f)};
    if (f.failed()) return f.take_error();
    return ws_client_message{std::move(message)};
  }
  if (name == "heartbeat" || name == "stop") {
    field_reader f(**root, envelope | fields(field::stream_id),
                   envelope | fields(field::stream_id));
    std::string stream_id = f.id(field::stream_id);
    if (f.failed()) return f.take_error();
    if (name == "stop") return ws_client_message{ws_stop{std::move(stream_id)}};
    return ws_client_message{ws_heartbeat{std::move(stream_id)}};
  }
  return bad_request("unknown type " + quote(name));
}

// ---- bodies and events rendered by the worker ----------------------------------------------

std::string encode_user(const user& u, int limit, policy effective_policy, int active) {
  return render([&](json_writer& w) { write_user(w, u, limit, effective_policy, active); });
}

std::string encode_users(const std::vector<user_row>& rows) {
  return render([&](json_writer& w) {
    w.StartArray();
    for (const user_row& row : rows)
      write_user(w, *row.u, row.limit, row.effective_policy, row.active);
    w.EndArray();
  });
}

std::string encode_stream(const stream& s) {
  return render([&](json_writer& w) { write_stream(w, s); });
}

std::string encode_streams(const std::vector<stream>& streams) {
  return render([&](json_writer& w) { write_streams(w, streams); });
}

std::string encode_video(const video& v) {
  return render([&](json_writer& w) { write_video(w, v); });
}

std::string encode_videos(const std::vector<const video*>& videos) {
  return render([&](json_writer& w) {
    w.StartArray();
    for (const video* v : videos) write_video(w, *v);
    w.EndArray();
  });
}

std::string encode_plans(const std::vector<plan>& plans) {
  return render([&](json_writer& w) {
    w.StartArray();
    for (const plan& p : plans) write_plan(w, p);
    w.EndArray();
  });
}

std::string encode_verdict_body(const verdict& v) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "requestId", v.request_id);
    if (v.allowed) {
      put(w, "verdict", "allowed");
      write_granted(w, v);
      put_int(w, "active", v.active);
      put_int(w, "limit", v.limit);
      write_over_limit(w, v);
    } else {
      put(w, "verdict", "denied");
      put(w, "reason", v.reason);
      put_int(w, "active", v.active);
      put_int(w, "limit", v.limit);
      put_key(w, "streams");
      write_streams(w, v.streams);
    }
    w.EndObject();
  });
}

std::string encode_pending_body(std::string_view request_id) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "requestId", request_id);
    put(w, "status", "pending");
    w.EndObject();
  });
}

std::string encode_heartbeat_body(std::int64_t expires_at_ms) {
  return render([&](json_writer& w) {
    w.StartObject();
    put_time(w, "expiresAt", expires_at_ms);
    w.EndObject();
  });
}

std::string encode_verdict_event(const verdict& v, std::uint64_t seq) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "verdict");
    put(w, "requestId", v.request_id);
    put(w, "userId", v.user_id);
    put(w, "videoId", v.video_id);
    put(w, "sessionId", v.session_id);
    put(w, "verdict", v.allowed ? "allowed" : "denied");
    if (v.allowed) {
      put_key(w, "streamId");
      if (v.granted)
        put_string(w, v.granted->stream_id);
      else
        w.Null();
    }
    put_int(w, "active", v.active);
    put_int(w, "limit", v.limit);
    write_over_limit(w, v);
    if (v.allowed) {
      write_granted(w, v);
    } else {
      put(w, "reason", v.reason);
      put_key(w, "streams");
      write_streams(w, v.streams);
    }
    put_key(w, "seq");
    w.Uint64(seq);
    w.EndObject();
  });
}

std::string encode_audit_events(const std::vector<audit_entry>& entries) {
  return render([&](json_writer& w) {
    w.StartArray();
    for (const audit_entry& e : entries) {
      w.StartObject();
      put_time(w, "at", e.at_ms);
      put(w, "type", e.type);
      if (!e.stream_id.empty()) put(w, "streamId", e.stream_id);
      if (!e.request_id.empty()) put(w, "requestId", e.request_id);
      if (!e.video_id.empty()) put(w, "videoId", e.video_id);
      if (!e.reason.empty()) put(w, "reason", e.reason);
      w.EndObject();
    }
    w.EndArray();
  });
}

std::string encode_ended_event(const ended_event& e, std::uint64_t seq) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "ended");
    put(w, "streamId", e.stream_id);
    put(w, "userId", e.user_id);
    put(w, "reason", to_string(e.reason));
    put_key(w, "seq");
    w.Uint64(seq);
    w.EndObject();
  });
}

std::string encode_revoked_event(const access_revoked& e, std::uint64_t seq) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "revoked");
    put(w, "userId", e.user_id);
    put_key(w, "seq");
    w.Uint64(seq);
    w.EndObject();
  });
}

std::string encode_snapshot(std::string_view user_id, const std::vector<stream>& streams,
                            int limit, std::string_view epoch, std::uint64_t seq) {
  return render([&](json_writer& w) {
    w.StartObject();
    put(w, "type", "snapshot");
    put(w, "userId", user_id);
    put_key(w, "streams");
    write_streams(w, streams);
    put_int(w, "limit", limit);
    put(w, "epoch", epoch);
    put_key(w, "seq");
    w.Uint64(seq);
    w.EndObject();
  });
}

std::string encode_error(const error& e) { return encode_error(e.code, e.message); }

std::string encode_error(error_code code, std::string_view message) {
  // Messages may quote what a client sent; the JSON must stay valid UTF-8 even so.
  std::string clean;
  if (!is_valid_utf8(message)) {
    clean = sanitized(message, message.size());
    message = clean;
  }
  return render([&](json_writer& w) {
    w.StartObject();
    put_key(w, "error");
    w.StartObject();
    put(w, "code", to_string(code));
    put(w, "message", message);
    w.EndObject();
    w.EndObject();
  });
}

// ---- demo catalog -----------------------------------------------------------------------------

namespace {

constexpr int max_duration_seconds = 86400;

// Items of one catalog array; ids are unique within it (they become primary keys).
template <class Item, class Read>
std::vector<Item> read_catalog_items(field_reader& parent, field list, field_set allowed,
                                     field_set required, Read read) {
  std::vector<Item> items;
  const json_value* array = parent.array(list);
  if (array == nullptr) return items;
  const std::string_view name = field_names[index_of(list)];
  items.reserve(array->Size());
  std::unordered_set<std::string> ids;
  for (rapidjson::SizeType i = 0; i < array->Size(); ++i) {
    const json_value& element = (*array)[i];
    if (!element.IsObject()) {
      parent.fail("field " + quote(std::string(name) + "[" + std::to_string(i) + "]") +
                  " must be an object");
      break;
    }
    field_reader f(element, allowed, required, name, i);
    Item item = read(f);
    if (f.failed()) {
      parent.fail(f.take_error().message);
      break;
    }
    if (!ids.insert(item.id).second) {
      parent.fail("duplicate id " + quote(item.id) + " in field " + quote(name));
      break;
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

namespace {

plan read_catalog_plan(field_reader& f) {
  plan p;
  p.id = f.id(field::id);
  p.max_streams = f.integer(field::max_streams, 1, max_streams_ceiling);
  p.limit_policy = f.optional_policy(field::policy).value_or(policy::deny);
  return p;
}

user read_catalog_user(field_reader& f) {
  user u;
  u.id = f.id(field::id);
  u.name = f.text(field::name, false);
  u.max_streams = f.optional_max_streams(field::max_streams);
  u.policy_override = f.optional_policy(field::policy);
  u.plan = f.optional_id(field::plan);
  return u;
}

video read_catalog_video(field_reader& f) {
  video v;
  v.id = f.id(field::id);
  v.title = f.text(field::title, false);
  v.duration_seconds = f.integer(field::duration_seconds, 1, max_duration_seconds);
  return v;
}

// The catalog is loaded whole into an empty store, so a user's plan must be one it defines.
void check_plans_exist(field_reader& f, const catalog& c) {
  std::unordered_set<std::string_view> plan_ids;
  for (const plan& p : c.plans) plan_ids.insert(p.id);
  for (std::size_t i = 0; i < c.users.size(); ++i) {
    const std::optional<std::string>& plan_id = c.users[i].plan;
    if (plan_id && !plan_ids.contains(*plan_id)) {
      f.fail("field " + quote("users[" + std::to_string(i) + "].plan") + " names " +
             quote(*plan_id) + ", which is not in field 'plans'");
      return;
    }
  }
}

catalog read_catalog(field_reader& f) {
  catalog c;
  c.plans = read_catalog_items<plan>(f, field::plans,
                                     fields(field::id, field::max_streams, field::policy),
                                     fields(field::id, field::max_streams), read_catalog_plan);
  c.users = read_catalog_items<user>(
      f, field::users,
      fields(field::id, field::name, field::max_streams, field::policy, field::plan),
      fields(field::id, field::name), read_catalog_user);
  const field_set video_fields = fields(field::id, field::title, field::duration_seconds);
  c.videos =
      read_catalog_items<video>(f, field::videos, video_fields, video_fields, read_catalog_video);
  if (!f.failed()) check_plans_exist(f, c);
  return c;
}

}  // namespace

result<catalog> decode_catalog(std::string_view json) {
  const field_set lists = fields(field::users, field::videos);
  return decode_object<catalog>(json, lists | fields(field::plans), lists, read_catalog);
}

}  // namespace streamgate
