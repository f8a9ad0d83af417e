#pragma once

// One record of the SQLite store's decision log (docs/design.md §8): what one committed user
// change leaves in the store, written at commit as one appended row and applied to the tables
// when the log is folded. The record says what the tables become, never how to decide it: the
// user's state bytes (encode_state) at its new version, or its removal; the starts it first
// decided (encode_start); the audit lines it appended.
//
// Layout (common/wire/wire_buffer.hpp's primitives): a format byte (1), the user id, the version
// the state has once committed, a removal flag, the state bytes, a count of starts and each
// start's bytes, a count of audit lines and each line's time, type, stream, request, video and
// reason (its user is the record's).

#include <cstdint>
#include <string>
#include <string_view>
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
  std::string state;  // encode_state's bytes; empty for a removal
  std::vector<core::remembered_start> starts;
  std::vector<audit_entry> audit;
};

// The record of `c`, committed on top of `stored_version` (0: the user was absent).
std::string encode_log_record(const user_commit& c, std::uint64_t stored_version);
// bad_request naming what is wrong when the bytes are not a record this store wrote.
result<log_record> decode_log_record(std::string_view bytes);

}  // namespace streamgate
