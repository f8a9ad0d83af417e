#pragma once

// A state's earliest lease expiry, as both stores index it: for the states they index without a
// commit telling them (seed(), and the SQLite store's index rebuilt at open).

#include <cstdint>
#include <optional>

#include "worker/core/user_state.hpp"

namespace streamgate {

// The same as core::next_expiry, which the store does not link: the index at open must hold what
// the commits' next_expiry would have put there.
inline std::optional<std::int64_t> earliest_expiry(const core::user_state& state) {
  std::optional<std::int64_t> earliest;
  for (const stream& s : state.streams)
    if (!earliest || s.expires_at_ms < *earliest) earliest = s.expires_at_ms;
  return earliest;
}

}  // namespace streamgate
