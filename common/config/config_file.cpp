#include "common/config/config_file.hpp"

#include <rapidjson/document.h>

#include <optional>
#include <string_view>

#include "common/bounded_file.hpp"

namespace streamgate::config_detail {

namespace {

// A config file is a page of options; anything much larger is the wrong file.
constexpr std::size_t max_config_bytes = 1024 * 1024;

const option_spec* find_option_spec(const std::vector<option_spec>& specs, std::string_view name) {
  for (const option_spec& spec : specs)
    if (spec.name == name) return &spec;
  return nullptr;
}

// A string, a number (kept as written) or a boolean as the text a flag would give.
std::optional<std::string> scalar_text(const rapidjson::Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  if (value.IsBool()) return value.GetBool() ? "true" : "false";
  return std::nullopt;
}

}  // namespace

result<config_file_options> read_config_file(const std::vector<option_spec>& specs,
                                             const std::string& path) {
  const std::string in_file = " in config file '" + path + "'";
  const result<std::string> read = read_bounded_file(path, max_config_bytes, "config file");
  if (!read) return read.error();
  const std::string& text = *read;

  // Numbers are kept as written so that a bad one is quoted exactly in the message.
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag |
                 rapidjson::kParseNumbersAsStringsFlag>(text.data(), text.size());
  if (document.HasParseError() || text.find('\0') != std::string::npos)
    return bad_request("config file '" + path + "' is not valid JSON (near byte " +
                       std::to_string(document.GetErrorOffset()) + ")");
  if (!document.IsObject())
    return bad_request("config file '" + path + "' must hold a JSON object");
  // The same text with its types: a quoted "90" must not pass for the number 90.
  rapidjson::Document typed;
  typed.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());

  config_file_options options;
  std::set<std::string_view> seen;
  for (const auto& member : document.GetObject()) {
    const std::string_view key(member.name.GetString(), member.name.GetStringLength());
    const option_spec* spec = find_option_spec(specs, key);
    if (spec == nullptr) return bad_request("unknown key '" + std::string(key) + "'" + in_file);
    if (!seen.insert(key).second)
      return bad_request("key '" + std::string(key) + "' appears twice" + in_file);
    const rapidjson::Value& value = member.value;
    const auto typed_member = typed.FindMember(member.name);
    if (typed_member != typed.MemberEnd() && typed_member->value.IsString())
      options.quoted.insert(std::string(key));
    const bool repeated = spec->kind == option_kind::repeated;
    const std::string expected = repeated ? ": expected a string or an array of strings"
                                          : ": expected a string, a number or a boolean";
    std::vector<std::string> values;
    if (value.IsArray() && repeated) {
      for (const rapidjson::Value& item : value.GetArray()) {
        auto item_text = scalar_text(item);
        if (!item_text)
          return bad_request("bad value for '" + spec->name + "'" + in_file + expected);
        values.push_back(std::move(*item_text));
      }
    } else if (auto value_text = scalar_text(value)) {
      values.push_back(std::move(*value_text));
    } else {
      return bad_request("bad value for '" + spec->name + "'" + in_file + expected);
    }
    options.values.emplace_back(spec->name, std::move(values));
  }
  return options;
}

}  // namespace streamgate::config_detail
