#pragma once

// The headers of every answer with the web UI's files and the /docs renderer's (api/routes/static_files):
// a browser must not guess another type than the one sent, and the UI's page may load and reach
// only what it needs, so an injected script has nowhere to come from and nowhere to send to.

#include "api/http/http_types.hpp"

namespace streamgate {

void add_static_headers(http_response& res);

}  // namespace streamgate
