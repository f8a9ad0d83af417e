#include "api/http/status_map.hpp"

#include <array>
#include <string_view>

namespace streamgate {

namespace {

using boost::beast::http::status;

struct status_row {
  std::string_view name;
  status code;
};

// Keyed by name because outcome and error_code share theirs (not_found, conflict, ...): one row
// answers for both enums, so they cannot drift apart.
constexpr std::array<status_row, 25> status_table{{
    {"ok", status::ok},
    {"created", status::created},
    {"no_content", status::no_content},
    {"allowed", status::created},
    {"denied", status::too_many_requests},
    {"bad_request", status::bad_request},
    {"unauthorized", status::unauthorized},
    {"forbidden", status::forbidden},
    {"not_found", status::not_found},
    {"method_not_allowed", status::method_not_allowed},
    {"conflict", status::conflict},
    {"payload_too_large", status::payload_too_large},
    {"header_too_large", status::request_header_fields_too_large},
    {"unsupported_media_type", status::unsupported_media_type},
    {"misdirected_request", status::misdirected_request},
    {"unavailable", status::service_unavailable},
    {"internal", status::internal_server_error},
    {"stream_ended", status::forbidden},
    {"token_expired", status::forbidden},
    {"wrong_video", status::forbidden},
    {"invalid_token", status::forbidden},
    {"rate_limited", status::too_many_requests},
    {"too_many_websockets", status::too_many_requests},
    {"too_many_connections", status::service_unavailable},
    {"upgrade_required", status::upgrade_required},
}};

status lookup(std::string_view name) {
  for (const status_row& row : status_table)
    if (row.name == name) return row.code;
  return status::internal_server_error;
}

}  // namespace

status status_of(outcome o) { return lookup(to_string(o)); }

status status_of(error_code code) { return lookup(to_string(code)); }

}  // namespace streamgate
