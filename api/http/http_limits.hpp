#pragma once

// The limits of one HTTP connection and its requests (docs/design.md §5), in one place: the
// session applies them and the HTTP fuzz harness parses with the very same ones.

#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>

#include "api/http/http_types.hpp"

namespace streamgate {

// Bigger requests get 431 / 413 and the connection is closed.
inline constexpr std::uint32_t max_header_bytes = 8 * 1024;
inline constexpr std::uint64_t max_body_bytes = 16 * 1024;

// The read buffer of a connection holds at most this much unparsed input. A request is never
// larger than a header and a body at their limits, so a legal request always fits; the rest is
// what a pipelining client sent ahead, and TCP flow control keeps it in the client's kernel.
inline constexpr std::size_t max_read_buffer_bytes = 64 * 1024;

// After this many requests a connection's answer says Connection: close, as nginx's
// keepalive_requests does. Requests are answered one at a time and an answer is written before
// the next request is read, so a client that pipelines thousands of requests without reading
// costs one request, one answer and the buffer above; this cap also ends its run instead of
// serving it forever on one connection, and clients that behave simply reconnect.
inline constexpr int max_requests_per_connection = 1000;

// Puts the request limits on a fresh parser (Beast wants one parser per request).
inline void apply_request_limits(http::request_parser<http::string_body>& parser) {
  parser.header_limit(max_header_bytes);
  parser.body_limit(max_body_bytes);
}

}  // namespace streamgate
