#include "ws_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/error.hpp>
#include <cctype>
#include <future>

namespace streamgate::it {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

std::string joined(const std::vector<std::string>& messages) {
  std::string out;
  for (const auto& m : messages) out += "\n  " + m;
  return out.empty() ? " (nothing)" : out;
}

// Connects and upgrades on `ioc`, which must not be running elsewhere; `result` tells how it went.
void open(asio::io_context& ioc, websocket::stream<beast::tcp_stream>& ws, unsigned short port,
          const std::string& target, std::chrono::milliseconds timeout,
          websocket::response_type& response, boost::system::error_code& result) {
  auto& lowest = beast::get_lowest_layer(ws);
  bool done = false;
  lowest.expires_after(timeout);
  lowest.async_connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
                       [&](boost::system::error_code ec) {
                         if (ec) {
                           result = ec;
                           done = true;
                           return;
                         }
                         // Beast: the websocket's own timeouts take over from the tcp_stream's.
                         lowest.expires_never();
                         websocket::stream_base::timeout t{};
                         t.handshake_timeout = timeout;
                         t.idle_timeout = websocket::stream_base::none();
                         t.keep_alive_pings = false;
                         ws.set_option(t);
                         ws.async_handshake(response, "127.0.0.1:" + std::to_string(port), target,
                                            [&](boost::system::error_code hec) {
                                              result = hec;
                                              done = true;
                                            });
                       });
  // Run until the handshake completed, not until the io_context is out of work: a refused
  // upgrade leaves the websocket's handshake timer pending.
  while (!done && ioc.run_one() > 0) {
  }
  ioc.restart();
}

}  // namespace

std::string ws_client::target_for(std::string_view user_id) {
  // Percent-encodes all but RFC 3986 unreserved characters.
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string target = "/ws?user=";
  for (const char c : user_id) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      target += c;
    } else {
      target += '%';
      target += hex[u >> 4];
      target += hex[u & 0xf];
    }
  }
  return target;
}

ws_client::ws_client(unsigned short port, std::string target, std::chrono::milliseconds timeout)
    : target_(std::move(target)), ws_(ioc_) {
  websocket::response_type response;
  boost::system::error_code result;
  open(ioc_, ws_, port, target_, timeout, response, result);
  if (result) {
    std::string why =
        "WebSocket " + target_ + " on 127.0.0.1:" + std::to_string(port) + ": " + result.message();
    if (result == websocket::error::upgrade_declined)
      why += " (HTTP " + std::to_string(response.result_int()) + " " + response.body() + ")";
    throw ws_error(why);
  }
  ws_.text(true);
  start_read();
  thread_ = std::thread([this] { ioc_.run(); });
}

ws_client::~ws_client() {
  // A polite close, bounded: the socket is shut after 2 s whatever the server does.
  auto timer = std::make_shared<asio::steady_timer>(ioc_);
  asio::post(ioc_, [this, timer] {
    timer->expires_after(2s);
    timer->async_wait([this](boost::system::error_code ec) {
      if (!ec) beast::get_lowest_layer(ws_).close();
    });
    if (!ws_.is_open()) {
      timer->cancel();
      beast::get_lowest_layer(ws_).close();
      return;
    }
    ws_.async_close(websocket::close_code::normal, [this, timer](boost::system::error_code) {
      timer->cancel();
      beast::get_lowest_layer(ws_).close();
    });
  });
  if (thread_.joinable()) thread_.join();
}

void ws_client::start_read() {
  ws_.async_read(read_buffer_, [this](boost::system::error_code ec, std::size_t) {
    std::lock_guard lock(mutex_);
    if (ec) {
      closed_ = ec == websocket::error::closed
                    ? "closed by the server (" + std::string(ws_.reason().reason.c_str()) + ")"
                    : ec.message();
      if (ec == websocket::error::closed) close_code_ = static_cast<int>(ws_.reason().code);
      changed_.notify_all();
      return;
    }
    std::string message = beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    history_.push_back(message);
    inbox_.push_back(std::move(message));
    changed_.notify_all();
    start_read();
  });
}

std::optional<json::document> ws_client::try_read_json(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [this] { return !inbox_.empty() || closed_.has_value(); });
  if (inbox_.empty()) return std::nullopt;
  std::string message = std::move(inbox_.front());
  inbox_.pop_front();
  lock.unlock();
  return json::parse(message);
}

json::document ws_client::read_json(std::chrono::milliseconds timeout) {
  if (auto message = try_read_json(timeout)) return std::move(*message);
  std::lock_guard lock(mutex_);
  throw ws_error("WebSocket " + target_ + ": no message within " + std::to_string(timeout.count()) +
                 " ms" + (closed_ ? "; connection ended: " + *closed_ : "") +
                 "; received so far:" + joined(history_));
}

json::document ws_client::read_until(const std::function<bool(const json::value&)>& pred,
                                     std::chrono::milliseconds timeout, std::string_view what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::optional<json::document> message;
    if (left.count() > 0) message = try_read_json(left);
    if (!message) {
      std::lock_guard lock(mutex_);
      throw ws_error("WebSocket " + target_ + ": timed out after " +
                     std::to_string(timeout.count()) + " ms waiting for " + std::string(what) +
                     (closed_ ? "; connection ended: " + *closed_ : "") +
                     "; received so far:" + joined(history_));
    }
    if (pred(*message)) return std::move(*message);
  }
}

void ws_client::send_json(std::string text, std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mutex_);
    if (closed_)
      throw ws_error("WebSocket " + target_ + ": cannot send, connection ended: " + *closed_);
  }
  auto done = std::make_shared<std::promise<boost::system::error_code>>();
  auto result = done->get_future();
  auto payload = std::make_shared<std::string>(std::move(text));
  asio::post(ioc_, [this, done, payload] {
    ws_.async_write(asio::buffer(*payload), [done, payload](boost::system::error_code ec,
                                                            std::size_t) { done->set_value(ec); });
  });
  if (result.wait_for(timeout) != std::future_status::ready)
    throw ws_error("WebSocket " + target_ + ": send took longer than " +
                   std::to_string(timeout.count()) + " ms");
  if (const auto ec = result.get())
    throw ws_error("WebSocket " + target_ + ": send: " + ec.message());
}

bool ws_client::closed_by_server() const {
  std::lock_guard lock(mutex_);
  return closed_.has_value();
}

bool ws_client::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [this] { return closed_.has_value(); });
}

std::optional<int> ws_client::close_code() const {
  std::lock_guard lock(mutex_);
  return close_code_;
}

std::vector<std::string> ws_client::received() const {
  std::lock_guard lock(mutex_);
  return history_;
}

int ws_upgrade_status(unsigned short port, const std::string& target,
                      std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  websocket::stream<beast::tcp_stream> ws(ioc);
  websocket::response_type response;
  boost::system::error_code result;
  open(ioc, ws, port, target, timeout, response, result);
  if (!result) {
    beast::get_lowest_layer(ws).close();
    return 101;
  }
  if (result == websocket::error::upgrade_declined) return response.result_int();
  throw ws_error("WebSocket upgrade of " + target + ": " + result.message());
}

}  // namespace streamgate::it
