#pragma once

// One record of the SQLite store's decision log (docs/design.md §8): what one committed user
// change leaves in the store, written at commit as one appended row and applied to the tables
// when the log is folded. The record says what the tables become, never how to decide it: the
// user's state without its live streams (encode_state(state, false)) at its new version, or its
// removal; what changed in its live streams (stream_changes.hpp), so a user holding many streams
// writes the one it started and not all of them again; the starts it first decided
// (encode_start); the audit lines it appended.
//
// Layout (common/wire/wire_buffer.hpp's primitives), format 2: a format byte, the user id, the
// version the state has once committed, a removal flag, the state bytes, a flag saying the streams
// below are all of the user's (the stored ones go), the count of streams added and each one's id,
// owner (empty: the user), video, session, start and expiry, the count of leases renewed and each
// one's stream id and expiry, the count of streams ended and each one's id, a count of starts and
// each start's bytes, a count of audit lines and each line's time, type, stream, request, video and
// reason (its user is the record's). Format 1 (schema 6, read at the first open of a newer
// worker) held the whole state with its streams where format 2 has the state and the streams; it
// reads as a record whose streams are all of the user's.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/domain.hpp"
#include "common/error.hpp"
#include "worker/core/user_state.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

struct log_record {
  std::string user_id;
  std::uint64_t version = 0;  // the stored version once applied (the one loaded + 1)
  bool remove = false;
  std::string state;  // encode_state(state, false)'s bytes; empty for a removal
  // `added` holds every live stream of the user, and the stored ones go: a new user, a commit
  // that says nothing of its streams' changes, a format 1 record.
  bool all_streams = false;
  std::vector<stream> added;  // in the order they were made
  std::vector<std::pair<std::string, std::int64_t>> renewed;  // stream id, its new expiry
  std::vector<std::string> ended;                             // stream ids
  std::vector<core::remembered_start> starts;
  std::vector<audit_entry> audit;
};

// The record of `c`, committed on top of `stored_version` (0: the user was absent).
std::string encode_log_record(const user_commit& c, std::uint64_t stored_version);
// bad_request naming what is wrong when the bytes are not a record this store wrote.
result<log_record> decode_log_record(std::string_view bytes);

}  // namespace streamgate
