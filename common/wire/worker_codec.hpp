#pragma once

// The wire codec of what a worker answers and publishes (common/worker_replies.hpp): compact,
// binary, versioned, strict (docs/design.md §10). Each frame starts with the codec's version and
// the alternative's tag; integers are LEB128 varints (signed ones zigzag), strings and lists are
// a varint length then their bytes or elements. A decoder refuses, with nullopt, anything that is
// not exactly one encoded value: another version, an unknown tag or enum value, a truncation,
// trailing bytes, a length beyond what is left, a varint longer than its value needs, a bool or
// presence byte other than 0 and 1; so every value has exactly one encoding. It never reserves
// more than the frame's size allows, so a hostile or corrupt frame costs memory in proportion to
// its bytes, however large the lengths it claims. The layout is in worker_codec.cpp.

#include <optional>
#include <string>
#include <string_view>

#include "common/worker_replies.hpp"

namespace streamgate {

inline constexpr unsigned char worker_codec_version = 2;

std::string encode_reply_body(const reply_body& body);
std::optional<reply_body> decode_reply_body(std::string_view frame);

std::string encode_event_body(const event_body& body);
std::optional<event_body> decode_event_body(std::string_view frame);

}  // namespace streamgate
