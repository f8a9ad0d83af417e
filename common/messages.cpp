#include "common/messages.hpp"

#include <array>
#include <utility>

namespace streamgate {

namespace {
constexpr std::array<std::pair<outcome, std::string_view>, 11> outcome_names{{
    {outcome::ok, "ok"},
    {outcome::created, "created"},
    {outcome::no_content, "no_content"},
    {outcome::allowed, "allowed"},
    {outcome::denied, "denied"},
    {outcome::bad_request, "bad_request"},
    {outcome::forbidden, "forbidden"},
    {outcome::not_found, "not_found"},
    {outcome::conflict, "conflict"},
    {outcome::unavailable, "unavailable"},
    {outcome::internal, "internal"},
}};
}  // namespace

std::string_view to_string(outcome o) {
  for (const auto& [value, name] : outcome_names)
    if (value == o) return name;
  return "internal";
}

std::optional<outcome> parse_outcome(std::string_view text) {
  for (const auto& [value, name] : outcome_names)
    if (name == text) return value;
  return std::nullopt;
}

outcome outcome_of(error_code code) {
  switch (code) {
    case error_code::bad_request: return outcome::bad_request;
    case error_code::forbidden: return outcome::forbidden;
    case error_code::not_found: return outcome::not_found;
    case error_code::conflict: return outcome::conflict;
    case error_code::unavailable: return outcome::unavailable;
    default: return outcome::internal;
  }
}

}  // namespace streamgate
