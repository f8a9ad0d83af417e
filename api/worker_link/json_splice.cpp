#include "api/worker_link/json_splice.hpp"

namespace streamgate {

namespace {
constexpr std::string_view json_space = " \t\r\n";
}  // namespace

std::string prepend_fields(std::string_view fields, std::string_view object) {
  const auto open = object.find_first_not_of(json_space);
  if (open == std::string_view::npos || object[open] != '{') return std::string(object);
  const auto first = object.find_first_not_of(json_space, open + 1);
  const bool empty = first != std::string_view::npos && object[first] == '}';
  std::string out;
  out.reserve(object.size() + fields.size() + 2);
  out += '{';
  out += fields;
  if (!empty) out += ',';
  out += object.substr(open + 1);
  return out;
}

std::string id_field(std::string_view name, std::string_view id) {
  std::string out;
  out.reserve(name.size() + id.size() + 5);
  out += '"';
  out += name;
  out += "\":\"";
  out += id;
  out += '"';
  return out;
}

}  // namespace streamgate
