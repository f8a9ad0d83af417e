#include "common/error.hpp"

#include <stdexcept>

namespace streamgate {

std::string_view to_string(error_code code) {
  switch (code) {
    case error_code::bad_request: return "bad_request";
    case error_code::not_found: return "not_found";
    case error_code::conflict: return "conflict";
    case error_code::forbidden: return "forbidden";
    case error_code::unauthorized: return "unauthorized";
    case error_code::payload_too_large: return "payload_too_large";
    case error_code::header_too_large: return "header_too_large";
    case error_code::method_not_allowed: return "method_not_allowed";
    case error_code::unavailable: return "unavailable";
    case error_code::internal: return "internal";
  }
  return "internal";
}

void throw_exception_from_error(const error& e, const boost::source_location&) {
  throw std::runtime_error(std::string(to_string(e.code)) + ": " + e.message);
}

}  // namespace streamgate
