#pragma once

#include "api/http/router.hpp"

namespace streamgate {

// The REST routes of docs/design.md §3 as one table; a test walks it against the OpenAPI document.
router make_api_router();

}  // namespace streamgate
