#include "http_client.hpp"

#include <poll.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <cctype>
#include <functional>

namespace streamgate::it {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr std::uint64_t max_response_body = 64 * 1024 * 1024;

tcp::endpoint loopback(unsigned short port) { return {asio::ip::make_address("127.0.0.1"), port}; }

// The server closed the connection instead of answering: not a test failure in itself.
bool is_closed_by_peer(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted;
}

http_response to_response(http::response_parser<http::string_body>& parser) {
  auto& msg = parser.get();
  http_response out;
  out.status = static_cast<int>(msg.result_int());
  for (const auto& f : msg.base()) out.headers.insert(f.name_string(), f.value());
  out.body = std::move(msg.body());
  out.keep_alive = msg.keep_alive();
  return out;
}

}  // namespace

std::string http_response::header(std::string_view name) const {
  const auto it = headers.find(beast::string_view(name.data(), name.size()));
  if (it == headers.end()) return {};
  return std::string(it->value());
}

bool http_response::has_json_content_type() const {
  std::string type = header("Content-Type");
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type.starts_with("application/json");
}

json::document http_response::json() const { return json::parse(body); }

std::string http_response::describe() const {
  std::string text = "HTTP " + std::to_string(status);
  for (const char* name : {"Content-Type", "Retry-After", "Allow", "Connection"}) {
    const std::string v = header(name);
    if (!v.empty()) text += std::string(" [") + name + ": " + v + "]";
  }
  constexpr std::size_t max = 3000;
  text += " " + (body.size() <= max ? body : body.substr(0, max) + "...");
  return text;
}

http_client::http_client(unsigned short port, std::chrono::milliseconds timeout)
    : port_(port), timeout_(timeout), stream_(ioc_) {}

http_client::~http_client() { close(); }

void http_client::connect() {
  close();
  boost::system::error_code result;
  stream_.expires_after(timeout_);
  stream_.async_connect(loopback(port_), [&](boost::system::error_code ec) { result = ec; });
  ioc_.restart();
  ioc_.run();
  if (result) {
    // A socket whose connect failed cannot connect again (Linux answers ECONNABORTED at once):
    // the next attempt starts from a fresh one.
    boost::system::error_code ignored;
    stream_.socket().close(ignored);
    throw http_error("connect to 127.0.0.1:" + std::to_string(port_) + ": " + result.message());
  }
  open_ = true;
  buffer_.clear();
}

void http_client::close() {
  if (!open_) return;
  boost::system::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  open_ = false;
}

bool http_client::is_open() const { return open_; }

bool http_client::peer_closed_while_idle() {
  // An idle keep-alive connection that is readable has been closed (or sent garbage): either
  // way it cannot carry the next request.
  pollfd p{stream_.socket().native_handle(), POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && p.revents != 0;
}

std::string http_client::where(http::verb method, std::string_view target) const {
  return std::string(http::to_string(method)) + " " + std::string(target) +
         " on 127.0.0.1:" + std::to_string(port_);
}

boost::system::error_code http_client::exchange(http::verb method, std::string_view target,
                                                std::string body, const header_list& headers,
                                                http_response& out) {
  http::request<http::string_body> req{method, beast::string_view(target.data(), target.size()),
                                       11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port_));
  req.set(http::field::user_agent, "streamgate-integration-tests");
  const bool has_body = !body.empty() || method == http::verb::post ||
                        method == http::verb::patch || method == http::verb::put;
  if (has_body) req.set(http::field::content_type, "application/json");
  for (const auto& [name, value] : headers) req.set(name, value);
  if (has_body) {
    req.body() = std::move(body);
    req.prepare_payload();
  }
  req.keep_alive(true);

  http::response_parser<http::string_body> parser;
  parser.body_limit(max_response_body);
  // The answer to a HEAD has the GET's Content-Length and no body (RFC 9110 §9.3.2): a body
  // sent anyway stays in the buffer and spoils the next answer on the connection.
  if (method == http::verb::head) parser.skip(true);
  boost::system::error_code result;
  bool got_response = false;
  auto on_read = [&](boost::system::error_code ec, std::size_t) {
    result = ec;
    got_response = !ec;
  };
  stream_.expires_after(timeout_);
  http::async_write(stream_, req, [&](boost::system::error_code ec, std::size_t) {
    // A server may answer and close before it read the whole request (413): read the answer
    // anyway, it is what the test wants to see.
    if (ec == beast::error::timeout) {
      result = ec;
      return;
    }
    stream_.expires_after(timeout_);
    http::async_read(stream_, buffer_, parser, on_read);
  });
  ioc_.restart();
  ioc_.run();
  if (got_response) out = to_response(parser);
  return result;
}

http_response http_client::request(http::verb method, std::string_view target, std::string body,
                                   const header_list& headers) {
  if (open_ && peer_closed_while_idle()) close();
  if (!open_) connect();
  http_response response;
  const auto ec = exchange(method, target, std::move(body), headers, response);
  if (ec) {
    close();
    throw http_error(where(method, target) + ": " +
                     (ec == beast::error::timeout
                          ? "no answer within " + std::to_string(timeout_.count()) + " ms"
                          : ec.message()));
  }
  if (!response.keep_alive) close();
  return response;
}

std::optional<http_response> http_client::request_on_same_connection(http::verb method,
                                                                     std::string_view target,
                                                                     std::string body,
                                                                     const header_list& headers) {
  if (!open_) return std::nullopt;
  http_response response;
  const auto ec = exchange(method, target, std::move(body), headers, response);
  if (ec) {
    close();
    if (is_closed_by_peer(ec)) return std::nullopt;
    throw http_error(where(method, target) + " (same connection): " +
                     (ec == beast::error::timeout
                          ? "no answer within " + std::to_string(timeout_.count()) + " ms"
                          : ec.message()));
  }
  if (!response.keep_alive) close();
  return response;
}

std::optional<http_response> raw_exchange(unsigned short port, std::string_view bytes,
                                          std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_response_body);
  boost::system::error_code result;
  bool got_response = false;

  stream.expires_after(timeout);
  stream.async_connect(loopback(port), [&](boost::system::error_code ec) {
    if (ec) {
      result = ec;
      return;
    }
    asio::async_write(stream, asio::buffer(bytes.data(), bytes.size()),
                      [&](boost::system::error_code wec, std::size_t) {
                        if (wec == beast::error::timeout) {
                          result = wec;
                          return;
                        }
                        stream.expires_after(timeout);
                        http::async_read(stream, buffer, parser,
                                         [&](boost::system::error_code rec, std::size_t) {
                                           result = rec;
                                           got_response = !rec;
                                         });
                      });
  });
  ioc.run();
  if (got_response) return to_response(parser);
  if (is_closed_by_peer(result)) return std::nullopt;
  throw http_error("raw request to 127.0.0.1:" + std::to_string(port) + ": " +
                   (result == beast::error::timeout
                        ? "no answer within " + std::to_string(timeout.count()) + " ms"
                        : result.message()));
}

continued_exchange exchange_with_continue(unsigned short port, std::string_view head,
                                          std::string_view body,
                                          std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  boost::system::error_code failure;
  const auto step = [&](auto&& start) {
    if (failure) return;
    stream.expires_after(timeout);
    start([&](boost::system::error_code ec, auto&&...) { failure = ec; });
    ioc.restart();
    ioc.run();
  };
  const auto read_answer = [&](http::response_parser<http::string_body>& parser) {
    parser.body_limit(max_response_body);
    step([&](auto handler) { http::async_read(stream, buffer, parser, handler); });
  };

  step([&](auto handler) { stream.async_connect(loopback(port), handler); });
  step([&](auto handler) {
    asio::async_write(stream, asio::buffer(head.data(), head.size()), handler);
  });
  continued_exchange out;
  http::response_parser<http::string_body> first;
  read_answer(first);
  if (!failure && first.get().result() == http::status::continue_) {
    out.interim_status = 100;
    step([&](auto handler) {
      asio::async_write(stream, asio::buffer(body.data(), body.size()), handler);
    });
    http::response_parser<http::string_body> final_answer;
    read_answer(final_answer);
    if (!failure) out.answer = to_response(final_answer);
  } else if (!failure) {
    out.answer = to_response(first);
  }
  if (failure)
    throw http_error("request with Expect: 100-continue to 127.0.0.1:" + std::to_string(port) +
                     ": " +
                     (failure == beast::error::timeout
                          ? "no answer within " + std::to_string(timeout.count()) + " ms"
                          : failure.message()));
  return out;
}

pipelined_run pipeline_without_reading(unsigned short port, const std::string& bytes,
                                       std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  pipelined_run run;

  std::function<void()> read_next = [&] {
    parser.emplace();
    parser->body_limit(max_response_body);
    stream.expires_after(timeout);
    http::async_read(stream, buffer, *parser, [&](boost::system::error_code ec, std::size_t) {
      if (ec) {
        run.ending = ec.message();
        run.closed_by_server = ec != beast::error::timeout;
        return;
      }
      run.answers.push_back(to_response(*parser));
      read_next();
    });
  };

  stream.socket().open(tcp::v4());
  stream.socket().set_option(asio::socket_base::receive_buffer_size(1 << 20));
  stream.expires_after(timeout);
  stream.async_connect(loopback(port), [&](boost::system::error_code ec) {
    if (ec) {
      run.ending = "connect: " + ec.message();
      return;
    }
    asio::async_write(stream, asio::buffer(bytes), [&](boost::system::error_code wec, std::size_t) {
      // The server may close before taking every request (a cap, a refused request).
      if (wec == beast::error::timeout) {
        run.ending = "writing the requests timed out";
        return;
      }
      boost::system::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
      read_next();
    });
  });
  ioc.run();
  return run;
}

idle_connection::idle_connection(unsigned short port, std::string_view bytes) : socket_(ioc_) {
  socket_.connect(loopback(port));
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()));
  socket_.non_blocking(true);
}

bool idle_connection::closed_by_server_within(std::chrono::milliseconds timeout) {
  // Reads until EOF or an error, discarding whatever the server says (e.g. a 408) first.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char scratch[4096];
  while (true) {
    boost::system::error_code ec;
    socket_.read_some(asio::buffer(scratch), ec);
    if (!ec) continue;
    if (ec != asio::error::would_block && ec != asio::error::try_again) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{socket_.native_handle(), POLLIN | POLLRDHUP, static_cast<short>(0)};
    ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 200)));
  }
}

}  // namespace streamgate::it
