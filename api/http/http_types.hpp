#pragma once

// The names every api file shares: Beast's request and response with string bodies, and the
// completion token of the coroutines (errors as values: a closed socket is not an exception).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace streamgate {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using http_request = http::request<http::string_body>;
using http_response = http::response<http::string_body>;

inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace streamgate
