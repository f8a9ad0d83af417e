#pragma once

// The compact encoding of one user's state as both stores keep it (one value per user, and one
// per remembered start beside it): a version byte, then the fields in a fixed order, integers as
// LEB128 varints (signed ones zig-zag), strings as a varint length and the bytes. Not JSON: a state is written at every
// decision and read at every cache miss, so it is small and cheap to make and to read.
// The store's version (user_state::version) is not part of it: each store keeps it beside.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "worker/core/user_state.hpp"

namespace streamgate {

// Without the remembered starts: each store keeps those beside the state, one value each. Without
// the live streams too when `with_streams` is false (Redis keeps each apart: stream_changes.hpp).
std::string encode_state(const core::user_state& state, bool with_streams = true);
// bad_request naming what is wrong when the bytes are not a state this worker wrote (truncated,
// an unknown encoding version, a bad policy, trailing bytes). The result's version is `version`.
// A state of encoding version 1 still holds its starts: they come back in `starts`.
result<core::user_state> decode_state(std::string_view bytes, std::uint64_t version);

std::string encode_start(const core::remembered_start& start);
result<core::remembered_start> decode_start(std::string_view bytes);

}  // namespace streamgate
