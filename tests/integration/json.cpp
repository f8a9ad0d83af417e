#include "json.hpp"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace streamgate::it::json {

namespace {

std::string shorten(std::string_view text) {
  constexpr std::size_t max = 2000;
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "...(" + std::to_string(text.size()) + " bytes)";
}

[[noreturn]] void fail(const value& object, const char* key, const char* wanted) {
  throw std::runtime_error(std::string("JSON field '") + key + "' " + wanted + " in " +
                           shorten(dump(object)));
}

}  // namespace

document parse(std::string_view text) {
  document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError())
    throw std::runtime_error(std::string("not JSON (") +
                             rapidjson::GetParseError_En(d.GetParseError()) +
                             "): " + shorten(text));
  return d;
}

std::optional<document> try_parse(std::string_view text) {
  document d;
  d.Parse(text.data(), text.size());
  if (d.HasParseError()) return std::nullopt;
  return d;
}

std::string dump(const value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

bool has(const value& object, const char* key) {
  return object.IsObject() && object.HasMember(key);
}
bool has_string(const value& object, const char* key) {
  return has(object, key) && object[key].IsString();
}
bool has_int(const value& object, const char* key) {
  return has(object, key) && object[key].IsInt64();
}
bool has_array(const value& object, const char* key) {
  return has(object, key) && object[key].IsArray();
}
bool has_object(const value& object, const char* key) {
  return has(object, key) && object[key].IsObject();
}

const value& member(const value& object, const char* key) {
  if (!has(object, key)) fail(object, key, "is missing");
  return object[key];
}

std::string str(const value& object, const char* key) {
  const value& v = member(object, key);
  if (!v.IsString()) fail(object, key, "is not a string");
  return {v.GetString(), v.GetStringLength()};
}

std::int64_t integer(const value& object, const char* key) {
  const value& v = member(object, key);
  if (!v.IsInt64()) fail(object, key, "is not an integer");
  return v.GetInt64();
}

const value::ConstArray array(const value& object, const char* key) {
  const value& v = member(object, key);
  if (!v.IsArray()) fail(object, key, "is not an array");
  return v.GetArray();
}

std::vector<std::string> strings_of(const value& arr, const char* key) {
  if (!arr.IsArray()) throw std::runtime_error("not an array: " + shorten(dump(arr)));
  std::vector<std::string> out;
  for (const auto& element : arr.GetArray()) out.push_back(str(element, key));
  return out;
}

std::optional<std::int64_t> parse_iso8601_ms(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  const std::string s(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute,
                  &second, &consumed) != 6 ||
      consumed != 19)
    return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return std::nullopt;
  std::size_t i = 19;
  std::int64_t millis = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int digits = 0;
    std::int64_t scale = 100;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      millis += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
      ++digits;
    }
    if (digits == 0) return std::nullopt;
  }
  std::int64_t offset_minutes = 0;
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  } else if (i + 6 == s.size() && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
    offset_minutes = (s[i] == '+' ? 1 : -1) * (oh * 60 + om);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const std::int64_t seconds = ::timegm(&tm);
  return (seconds - offset_minutes * 60) * 1000 + millis;
}

bool is_iso8601(std::string_view text) { return parse_iso8601_ms(text).has_value(); }

std::string quote(std::string_view text) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  writer.String(text.data(), static_cast<rapidjson::SizeType>(text.size()));
  return {buffer.GetString(), buffer.GetSize()};
}

std::string object(std::initializer_list<field> fields) {
  std::string out = "{";
  for (const auto& f : fields) {
    if (out.size() > 1) out += ',';
    out += quote(f.key) + ':';
    if (const auto* s = std::get_if<std::string>(&f.val)) {
      out += quote(*s);
    } else if (const auto* n = std::get_if<std::int64_t>(&f.val)) {
      out += std::to_string(*n);
    } else {
      out += std::get<bool>(f.val) ? "true" : "false";
    }
  }
  return out + "}";
}

}  // namespace streamgate::it::json
