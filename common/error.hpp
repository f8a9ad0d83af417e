#pragma once

#include <boost/assert/source_location.hpp>
#include <boost/system/result.hpp>
#include <string>
#include <string_view>

namespace streamgate {

// Transport-neutral failure kinds. The api maps them to HTTP statuses in one table
// (api/http/status_map), the worker sends them back as the outcome of a reply.
enum class error_code {
  bad_request,
  not_found,
  conflict,
  forbidden,
  unauthorized,
  payload_too_large,
  header_too_large,
  unsupported_media_type,  // a request body that is not JSON
  misdirected_request,     // a Host this api does not answer for
  method_not_allowed,
  unavailable,
  internal,
  // A playback token refused by the media routes (docs/design.md §9), each a 403.
  stream_ended,
  token_expired,
  wrong_video,
  invalid_token,
  rate_limited,          // a user's starts beyond the api's per-user rate (429 with Retry-After)
  too_many_websockets,   // a user's WebSockets on this api at --max-websockets-per-user (429)
  too_many_connections,  // a client address at --max-connections-per-address (503)
  upgrade_required,      // a WebSocket version other than 13 (426, RFC 6455 §4.2.2)
};

std::string_view to_string(error_code code);

struct error {
  error_code code;
  std::string message;
  bool operator==(const error&) const = default;
};

// Lets boost::system::result<T, error>::value() throw a readable exception.
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

inline error bad_request(std::string message) { return {error_code::bad_request, std::move(message)}; }
inline error not_found(std::string message) { return {error_code::not_found, std::move(message)}; }
inline error conflict(std::string message) { return {error_code::conflict, std::move(message)}; }

}  // namespace streamgate
