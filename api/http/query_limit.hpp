#pragma once

// The ?limit= of the list routes (audit trail, users), checked the same way for each.

#include "api/http/router.hpp"
#include "common/error.hpp"

namespace streamgate {

// ?limit= as an integer from 1 to `max`; `absent` when the query has none; bad_request naming
// the parameter otherwise.
result<int> query_limit(const request_context& ctx, int absent, int max);

}  // namespace streamgate
