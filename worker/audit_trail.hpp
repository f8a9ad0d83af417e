#pragma once

// The audit trail of a batch, derived from what the limiter decided: one entry per new verdict
// (a verdict_saved change, so a replayed requestId is not audited twice) and one per ended
// stream (the ended events, which carry the reason). The worker stores them in the batch's
// transaction.

#include <cstdint>
#include <vector>

#include "common/domain.hpp"
#include "worker/stream_limiter.hpp"

namespace streamgate {

std::vector<audit_entry> audit_entries_of(const std::vector<change>& changes,
                                          const std::vector<event>& events, std::int64_t at_ms);

}  // namespace streamgate
