#pragma once

// Checks a request's head as soon as it is read, before any of its body (RFC 9112; docs/design.md
// §5): how the body is framed, the Host, and the form of the request-target. A refused head is
// answered 400 and the connection closed, since its body cannot be told from the next request.

#include <boost/beast/http/message.hpp>
#include <optional>

#include "common/error.hpp"

namespace streamgate {

using request_head = boost::beast::http::request_header<>;

// The error to answer, or none when the head is fine. An absolute-form target
// ("http://127.0.0.1:8080/health") is rewritten in `head` to its origin form ("/health"), with
// its authority as the Host (RFC 9112 §3.2.2), so the router and every later check see one form.
std::optional<error> check_request_head(request_head& head);

}  // namespace streamgate
