#include "api/http/http_session.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <chrono>
#include <utility>

#include "api/auth/auth.hpp"
#include "api/http/connection_errors.hpp"
#include "api/http/http_limits.hpp"
#include "api/http/request_head.hpp"
#include "api/http/responses.hpp"
#include "api/http/router.hpp"
#include "api/websocket/websocket_session.hpp"
#include "api/websocket/ws_registry.hpp"

namespace streamgate {

namespace {

using namespace std::chrono_literals;

// For a whole request (so a client trickling bytes cannot hold a connection forever) and for
// the wait for the next request of a kept-alive connection.
constexpr auto read_timeout = 30s;
// A new connection's first request comes at once from any real client; an idle one only holds a
// connection slot (hardening: 200 idle sockets held every slot for 30 s at a time).
constexpr auto first_request_timeout = 5s;
constexpr auto write_timeout = 30s;
// After refusing a request: how long and how much of the rest of it is read and dropped.
constexpr auto linger_timeout = 2s;
constexpr std::size_t max_linger_bytes = 1024 * 1024;

// Counts the request as in flight until its answer is written, whichever way the coroutine
// leaves, so a shutdown waits for it.
class in_flight_guard final {
 public:
  explicit in_flight_guard(std::atomic<int>& count) : count_(count) { ++count_; }
  ~in_flight_guard() { --count_; }
  in_flight_guard(const in_flight_guard&) = delete;
  in_flight_guard& operator=(const in_flight_guard&) = delete;

 private:
  std::atomic<int>& count_;
};

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == beast::error_code(http::error::bad_method).category();
}

}  // namespace

http_session::http_session(asio::ip::tcp::socket&& socket, api_services& services,
                           std::shared_ptr<const cross_site_guard> guard, connection_slot slot)
    : stream_(std::move(socket)),
      buffer_(max_read_buffer_bytes),
      services_(services),
      guard_(std::move(guard)),
      slot_(std::move(slot)) {}

void http_session::run() {
  asio::co_spawn(
      stream_.get_executor(), [self = shared_from_this()] { return self->serve(); }, log_unhandled);
}

asio::awaitable<void> http_session::serve() {
  for (;;) {
    beast::error_code read_error = co_await read_header();
    if (!read_error) {
      if (const std::optional<error> refused = check_request_head(parser_->get())) {
        co_await refuse(refused->code, refused->message);
        co_return;
      }
      read_error = co_await read_body();
    }
    if (read_error == http::error::header_limit) {
      co_await refuse(error_code::header_too_large, "request header larger than 8 KiB");
      co_return;
    }
    if (read_error == http::error::body_limit) {
      co_await refuse(error_code::payload_too_large, "request body larger than 16 KiB");
      co_return;
    }
    if (read_error && !is_normal_ending(read_error) && is_parse_error(read_error)) {
      co_await refuse(error_code::bad_request, "malformed HTTP request: " + read_error.message());
      co_return;
    }
    if (read_error) {
      log_connection_failure("read", read_error);
      co_return;
    }

    const in_flight_guard guard(services_.active_requests);
    const http_request& request = parser_->get();
    http_response res;
    if (std::optional<error> refused = guard_->refusal(request)) {
      res = error_response(*refused);
    } else if (beast::websocket::is_upgrade(request)) {
      // Refused before upgrading (bad target, no token, another user's token): a plain answer.
      result<std::string> user = co_await authorize_websocket(request, services_);
      // Checked before the upgrade, so the refusal is a plain answer; sockets upgrading at this
      // very moment on other io threads may pass it together (at most --io-threads over).
      if (user && services_.sockets.count_of(*user) >= services_.max_websockets_per_user)
        user = error{error_code::too_many_websockets,
                     "this user has " + std::to_string(services_.max_websockets_per_user) +
                         " WebSockets open on this api already"};
      if (user) {
        auto session =
            std::make_shared<websocket_session>(std::move(stream_), std::move(*user), services_);
        session->hold(std::move(slot_));
        session->run(parser_->release());
        co_return;
      }
      res = error_response(user.error());
    } else {
      res = co_await answer(request);
    }

    ++requests_served_;
    const bool keep_alive = request.keep_alive() && !services_.stopping.load() &&
                            requests_served_ < max_requests_per_connection;
    res.version(request.version());
    res.keep_alive(keep_alive);
    res.prepare_payload();
    const beast::error_code write_error =
        co_await write_answer(res, request.method() == http::verb::head);
    if (write_error) {
      log_connection_failure("write", write_error);
      co_return;
    }
    if (!keep_alive) {
      // A pipelining client (the usual one to reach the request cap) has sent more requests
      // after this one: drain them rather than reset the connection under the answers it has
      // not read yet.
      if (requests_served_ >= max_requests_per_connection || buffer_.size() > 0) {
        co_await lingering_close();
        co_return;
      }
      beast::error_code ignored;
      stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
      co_return;
    }
  }
}

asio::awaitable<beast::error_code> http_session::read_header() {
  // A fresh parser per request (Beast's rule); the limits sit on it, next to the read. The
  // deadline covers the header and the body.
  parser_.emplace();
  apply_request_limits(*parser_);
  stream_.expires_after(requests_served_ == 0 ? first_request_timeout : read_timeout);
  const auto [ec, n] = co_await http::async_read_header(stream_, buffer_, *parser_, use_nothrow);
  co_return ec;
}

asio::awaitable<beast::error_code> http_session::read_body() {
  if (parser_->is_done()) co_return beast::error_code{};
  beast::error_code ec;
  std::size_t n = 0;
  // curl and others wait for this before sending a body over 1 KiB.
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    http::response<http::empty_body> go_on{http::status::continue_, parser_->get().version()};
    std::tie(ec, n) = co_await http::async_write(stream_, go_on, use_nothrow);
    if (ec) co_return ec;
  }
  std::tie(ec, n) = co_await http::async_read(stream_, buffer_, *parser_, use_nothrow);
  co_return ec;
}

asio::awaitable<beast::error_code> http_session::write_answer(http_response& res,
                                                              bool head_only) {
  stream_.expires_after(write_timeout);
  if (!head_only) {
    const auto [ec, n] = co_await http::async_write(stream_, res, use_nothrow);
    co_return ec;
  }
  // The answer to a HEAD is the GET's head alone, its Content-Length included (RFC 9110 §9.3.2).
  http::response_serializer<http::string_body> serializer{res};
  const auto [ec, n] = co_await http::async_write_header(stream_, serializer, use_nothrow);
  co_return ec;
}

asio::awaitable<http_response> http_session::answer(const http_request& request) {
  try {
    co_return co_await services_.routes.dispatch(request, services_);
  } catch (const std::exception& e) {
    spdlog::error("{} {} failed: {}", std::string_view(request.method_string()),
                  redacted_target(request.target()), e.what());
  }
  co_return error_response(error_code::internal, "internal error");
}

asio::awaitable<void> http_session::refuse(error_code code, std::string_view message) {
  http_response res = error_response(code, message);
  res.keep_alive(false);
  res.prepare_payload();
  stream_.expires_after(write_timeout);
  const auto [ec, n] = co_await http::async_write(stream_, res, use_nothrow);
  if (ec) {
    log_connection_failure("write", ec);
    co_return;
  }
  co_await lingering_close();
}

asio::awaitable<void> http_session::lingering_close() {
  // Closing with unread request bytes makes the kernel reset the connection, and the client
  // may then lose the answer it has not read yet: stop sending, drain a little, then close.
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(linger_timeout);
  std::array<char, 4096> sink;
  for (std::size_t drained = 0; drained < max_linger_bytes;) {
    const auto [ec, n] = co_await stream_.async_read_some(asio::buffer(sink), use_nothrow);
    if (ec) break;
    drained += n;
  }
  stream_.close();
}

}  // namespace streamgate
