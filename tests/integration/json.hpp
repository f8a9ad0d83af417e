#pragma once

// Small RapidJSON helpers for reading the answers of the programs and writing request bodies.
// Readers throw std::runtime_error quoting the document when a field is missing or of another
// type, so a wrong shape fails the test with the body in the message.

#include <rapidjson/document.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace streamgate::it::json {

using document = rapidjson::Document;
using value = rapidjson::Value;

// Throws std::runtime_error("not JSON: ...") when `text` does not parse.
document parse(std::string_view text);
std::optional<document> try_parse(std::string_view text);
std::string dump(const value& v);

bool has(const value& object, const char* key);
bool has_string(const value& object, const char* key);
bool has_int(const value& object, const char* key);
bool has_array(const value& object, const char* key);
bool has_object(const value& object, const char* key);

const value& member(const value& object, const char* key);
std::string str(const value& object, const char* key);
std::int64_t integer(const value& object, const char* key);
const value::ConstArray array(const value& object, const char* key);
// The values of `key` (strings) of each element of an array, e.g. the streamIds of a list.
std::vector<std::string> strings_of(const value& array, const char* key);

// "2026-11-22T10:13:19.123Z" and the other RFC 3339 forms (offset, no fraction).
bool is_iso8601(std::string_view text);
// Milliseconds since the epoch, none when `text` is not RFC 3339.
std::optional<std::int64_t> parse_iso8601_ms(std::string_view text);

// A flat JSON object from keys and values, with proper escaping: object({{"videoId", "v01"}}).
using scalar = std::variant<std::string, std::int64_t, bool>;
struct field {
  std::string key;
  scalar val;
  field(std::string k, const char* v) : key(std::move(k)), val(std::string(v)) {}
  field(std::string k, std::string v) : key(std::move(k)), val(std::move(v)) {}
  field(std::string k, int v) : key(std::move(k)), val(std::int64_t{v}) {}
  field(std::string k, std::int64_t v) : key(std::move(k)), val(v) {}
  field(std::string k, bool v) : key(std::move(k)), val(v) {}
};
std::string object(std::initializer_list<field> fields);
// A JSON string literal, quoted and escaped.
std::string quote(std::string_view text);

}  // namespace streamgate::it::json
