#pragma once

// A synchronous HTTP/1.1 client for tests, over one keep-alive connection. Every operation has a
// deadline (Beast's tcp_stream timeouts run by the client's own io_context), so a server that
// hangs fails the test with a message instead of hanging it. Transport failures throw
// http_error; any HTTP status, 4xx and 5xx included, is a normal answer.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json.hpp"

namespace streamgate::it {

namespace http = boost::beast::http;
using namespace std::chrono_literals;

struct http_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct http_response {
  int status = 0;
  http::fields headers;
  std::string body;
  bool keep_alive = true;  // false when the server said it closes the connection

  // The value of a header, empty when absent. Names are case-insensitive.
  std::string header(std::string_view name) const;
  bool has_json_content_type() const;
  json::document json() const;  // throws when the body is not JSON
  // "HTTP 429 {"requestId":...}" for assertion messages.
  std::string describe() const;
};

using header_list = std::vector<std::pair<std::string, std::string>>;

class http_client final {
 public:
  explicit http_client(unsigned short port, std::chrono::milliseconds timeout = 15s);
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  // Opens the connection now rather than at the first request.
  void connect();
  void close();
  bool is_open() const;

  // Sends one request, reusing the open connection when the server kept it. Reconnects first
  // when the connection is closed or the server closed it while idle.
  http_response request(http::verb method, std::string_view target, std::string body = {},
                        const header_list& headers = {});
  // Same, on the current connection only: none when the server closed it (EOF or reset) before
  // answering; throws on a timeout. For checking that a connection is kept sane after an error.
  std::optional<http_response> request_on_same_connection(http::verb method,
                                                          std::string_view target,
                                                          std::string body = {},
                                                          const header_list& headers = {});

  http_response get(std::string_view target) { return request(http::verb::get, target); }
  http_response post(std::string_view target, std::string body) {
    return request(http::verb::post, target, std::move(body));
  }
  http_response patch(std::string_view target, std::string body) {
    return request(http::verb::patch, target, std::move(body));
  }
  http_response del(std::string_view target) { return request(http::verb::delete_, target); }

  unsigned short port() const { return port_; }

 private:
  // Returns the error of the exchange; `closed_early` says the server closed before answering.
  boost::system::error_code exchange(http::verb method, std::string_view target, std::string body,
                                     const header_list& headers, http_response& out);
  bool peer_closed_while_idle();
  std::string where(http::verb method, std::string_view target) const;

  unsigned short port_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context ioc_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  bool open_ = false;
};

// One HTTP exchange from raw bytes on a new connection, for requests a well-behaved client cannot
// send. Returns the parsed response, or none when the server closed the connection without one.
std::optional<http_response> raw_exchange(unsigned short port, std::string_view bytes,
                                          std::chrono::milliseconds timeout = 15s);

// A request sent as a strict client sends one with Expect: 100-continue (RFC 9110 §10.1.1): its
// head, then its body only after the server's 100 (Continue). `interim_status` is 100 when the
// server asked for the body, 0 when it answered finally without reading it; throws when the
// server says nothing within `timeout`.
struct continued_exchange {
  int interim_status = 0;
  http_response answer;
};
continued_exchange exchange_with_continue(unsigned short port, std::string_view head,
                                          std::string_view body,
                                          std::chrono::milliseconds timeout = 15s);

struct pipelined_run {
  std::vector<http_response> answers;
  bool closed_by_server = false;  // the reads ended at EOF or a reset, not at the deadline
  std::string ending;
};

// Connects, writes all of `bytes` (one request or many) without reading anything, half-closes,
// and only then reads every answer until the server closes the connection. The receive buffer is
// made large so the answers the server writes meanwhile fit in the kernel while this client is
// not reading.
pipelined_run pipeline_without_reading(unsigned short port, const std::string& bytes,
                                       std::chrono::milliseconds timeout = 60s);

// A connection that sent `bytes` (e.g. half a request) and then says nothing: a slow or idle
// client. The socket stays open until the object dies or the server closes it.
class idle_connection final {
 public:
  idle_connection(unsigned short port, std::string_view bytes);
  // True when the server closed the connection within `timeout` (reads and discards any answer).
  bool closed_by_server_within(std::chrono::milliseconds timeout);

 private:
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::socket socket_;
};

}  // namespace streamgate::it
