#include "common/messages.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "common/ids.hpp"

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

std::optional<std::string_view> user_named_by(const request_body& body) {
  return std::visit(
      [](const auto& r) -> std::optional<std::string_view> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (requires { r.user_id; })
          return r.user_id;
        else if constexpr (std::is_same_v<T, create_user_request>)
          return r.id ? std::optional<std::string_view>(*r.id) : std::nullopt;
        else
          return std::nullopt;
      },
      body);
}

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

std::string encode_playback_note(const playback_note& note) {
  if (const auto* grant = std::get_if<playback_grant>(&note))
    return "grant " + grant->stream_id + ' ' + grant->user_id + ' ' + grant->video_id;
  if (const auto* revoked = std::get_if<access_revoked>(&note)) return "revoke " + revoked->user_id;
  return "end " + std::get<playback_end>(note).stream_id;
}

std::optional<playback_note> parse_playback_note(std::string_view frame) {
  std::vector<std::string_view> words;
  for (std::size_t start = 0; start <= frame.size() && words.size() <= 4;) {
    const std::size_t space = std::min(frame.find(' ', start), frame.size());
    words.push_back(frame.substr(start, space - start));
    start = space + 1;
  }
  for (std::size_t i = 1; i < words.size(); ++i)
    if (!is_valid_id(words[i])) return std::nullopt;
  if (words.size() == 4 && words[0] == "grant")
    return playback_grant{std::string(words[1]), std::string(words[2]), std::string(words[3])};
  if (words.size() == 2 && words[0] == "end") return playback_end{std::string(words[1])};
  if (words.size() == 2 && words[0] == "revoke") return access_revoked{std::string(words[1])};
  return std::nullopt;
}

std::string encode_counted_id(std::string_view id, std::uint64_t count) {
  std::string frame(id);
  frame += ' ';
  frame += std::to_string(count);
  return frame;
}

std::optional<counted_id> parse_counted_id(std::string_view frame) {
  const std::size_t space = frame.find(' ');
  if (space == std::string_view::npos || !is_valid_id(frame.substr(0, space))) return std::nullopt;
  const std::string_view digits = frame.substr(space + 1);
  counted_id parsed{frame.substr(0, space), 0};
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), parsed.count);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return parsed;
}

std::string encode_event_position(const event_position& position) {
  return encode_counted_id(position.life, position.published);
}

std::optional<event_position> parse_event_position(std::string_view frame) {
  const auto parsed = parse_counted_id(frame);
  if (!parsed) return std::nullopt;
  return event_position{std::string(parsed->id), parsed->count};
}

std::string encode_worker_lives(const std::vector<std::string>& lives) {
  std::string frame;
  for (const std::string& life : lives) {
    if (!frame.empty()) frame += ' ';
    frame += life;
  }
  return frame;
}

std::optional<std::vector<std::string>> parse_worker_lives(std::string_view frame) {
  std::vector<std::string> lives;
  if (frame.empty()) return lives;
  for (;;) {
    const std::size_t space = frame.find(' ');
    const std::string_view life = frame.substr(0, space);
    if (!is_valid_id(life) || lives.size() == max_worker_lives) return std::nullopt;
    lives.emplace_back(life);
    if (space == std::string_view::npos) return lives;
    frame.remove_prefix(space + 1);
  }
}

}  // namespace streamgate
