#pragma once

// The compact encoding of one user's state as both stores keep it (one value per user): a
// version byte, then the fields in a fixed order, integers as LEB128 varints (signed ones
// zig-zag), strings as a varint length and the bytes. Not JSON: a state is written at every
// decision and read at every cache miss, so it is small and cheap to make and to read.
// The store's version (user_state::version) is not part of it: each store keeps it beside.

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "worker/core/user_state.hpp"

namespace streamgate {

std::string encode_state(const core::user_state& state);
// bad_request naming what is wrong when the bytes are not a state this worker wrote (truncated,
// an unknown encoding version, a bad policy, trailing bytes). The result's version is `version`.
result<core::user_state> decode_state(std::string_view bytes, std::uint64_t version);

}  // namespace streamgate
