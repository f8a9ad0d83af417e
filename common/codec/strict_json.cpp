#include "common/codec/strict_json.hpp"

#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

#include "common/clock.hpp"

namespace streamgate::codec_detail {

namespace {

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

// Client text quoted in an error message is cut short: a message never grows with the input.
constexpr std::size_t max_quoted_bytes = 64;

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

}  // namespace

bool is_valid_utf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t length = utf8_sequence_length(text, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

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

std::string quote(std::string_view text) {
  // Appended, not "'" + string: GCC 12 at -O3 takes that for an overlapping memcpy.
  std::string quoted(1, '\'');
  quoted.append(sanitized(text, max_quoted_bytes)).push_back('\'');
  return quoted;
}

encoder& this_thread_encoder() {
  thread_local encoder state;
  return state;
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

result<const json_value*> parsed_json::parse(std::string_view json) {
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

}  // namespace streamgate::codec_detail
