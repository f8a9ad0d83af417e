#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <memory>
#include <optional>

#include "api/http/connection_limit.hpp"
#include "api/http/cross_site_guard.hpp"
#include "api/http/http_types.hpp"
#include "api/services.hpp"
#include "common/error.hpp"

namespace streamgate {

// One HTTP/1.1 connection: one coroutine on the connection's strand reads a request, has the
// router answer it and writes the answer, for as long as the client keeps the connection alive.
// An upgrade to /ws hands the connection, and its slot of the connection limit, to a
// websocket_session.
class http_session final : public std::enable_shared_from_this<http_session> {
 public:
  http_session(asio::ip::tcp::socket&& socket, api_services& services,
               std::shared_ptr<const cross_site_guard> guard, connection_slot slot);

  void run();

 private:
  asio::awaitable<void> serve();
  asio::awaitable<beast::error_code> read_header();
  // After the head was checked (api/http/request_head): a refused head's body is never read.
  asio::awaitable<beast::error_code> read_body();
  asio::awaitable<http_response> answer(const http_request& request);
  // Without the body when `head_only` (the answer to a HEAD).
  asio::awaitable<beast::error_code> write_answer(http_response& res, bool head_only);
  asio::awaitable<void> refuse(error_code code, std::string_view message);
  asio::awaitable<void> lingering_close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;  // reused by every request of the connection
  std::optional<http::request_parser<http::string_body>> parser_;
  api_services& services_;
  std::shared_ptr<const cross_site_guard> guard_;
  connection_slot slot_;
  int requests_served_ = 0;  // max_requests_per_connection
};

}  // namespace streamgate
