#pragma once

// The responses handlers build. Statuses come from status_map, bodies from api/views, so every
// error looks the same: {"error":{"code","message"}} as application/json.

#include <string>
#include <string_view>

#include "api/http/http_types.hpp"
#include "api/worker_link/worker_client.hpp"
#include "common/error.hpp"

namespace streamgate {

// A JSON body with its status; a 503 with Retry-After: 1, whichever body it has.
http_response json_response(http::status status, std::string body);
// An error body with its status.
http_response error_response(const error& e);
http_response error_response(error_code code, std::string_view message);

// The worker's reply: status from its outcome, its body rendered (api/views, render_body).
http_response reply_response(const worker_reply& reply);

}  // namespace streamgate
