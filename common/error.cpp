#include "common/error.hpp"

#include <stdexcept>

namespace streamgate {

std::string_view to_string(error_code code) {
  // One line per code, a table to read down (clang-format would break the newest ones).
  // clang-format off
  switch (code) {
    case error_code::bad_request: return "bad_request";
    case error_code::not_found: return "not_found";
    case error_code::conflict: return "conflict";
    case error_code::forbidden: return "forbidden";
    case error_code::unauthorized: return "unauthorized";
    case error_code::payload_too_large: return "payload_too_large";
    case error_code::header_too_large: return "header_too_large";
    case error_code::unsupported_media_type: return "unsupported_media_type";
    case error_code::misdirected_request: return "misdirected_request";
    case error_code::method_not_allowed: return "method_not_allowed";
    case error_code::unavailable: return "unavailable";
    case error_code::internal: return "internal";
    case error_code::stream_ended: return "stream_ended";
    case error_code::token_expired: return "token_expired";
    case error_code::wrong_video: return "wrong_video";
    case error_code::invalid_token: return "invalid_token";
    case error_code::rate_limited: return "rate_limited";
    case error_code::too_many_websockets: return "too_many_websockets";
    case error_code::too_many_connections: return "too_many_connections";
    case error_code::upgrade_required: return "upgrade_required";
  }
  // clang-format on
  return "internal";
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(e.code)) + ": " + e.message);
}

}  // namespace streamgate
