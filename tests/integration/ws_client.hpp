#pragma once

// A WebSocket client for tests. One thread of its own reads continuously (answering pings and
// never making the server's outbound queue grow), and queues each message; the test takes them
// with a deadline, so a message that never comes fails the test with what came instead.

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "json.hpp"

namespace streamgate::it {

using namespace std::chrono_literals;

struct ws_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class ws_client final {
 public:
  // Connects and upgrades `target` (e.g. "/ws?user=alice"). Throws ws_error when the server
  // refuses, quoting the HTTP status of the refusal.
  ws_client(unsigned short port, std::string target, std::chrono::milliseconds timeout = 10s);
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  static std::string target_for(std::string_view user_id);

  // The next message. Throws ws_error when none arrives in time or the server closed.
  json::document read_json(std::chrono::milliseconds timeout = 10s);
  // The next message, none when none arrives in time; the connection stays usable.
  std::optional<json::document> try_read_json(std::chrono::milliseconds timeout);
  // Reads until a message satisfies `pred` and returns it; the messages before it are dropped
  // (kept in received()). Throws ws_error on timeout, naming `what` and listing what came.
  json::document read_until(const std::function<bool(const json::value&)>& pred,
                            std::chrono::milliseconds timeout, std::string_view what);
  void send_json(std::string text, std::chrono::milliseconds timeout = 10s);

  // True once the server closed the connection (or it broke).
  bool closed_by_server() const;
  // Waits up to `timeout` for the server to close the connection.
  bool wait_closed(std::chrono::milliseconds timeout);
  // The code of the server's close frame (RFC 6455 §7.4); none before one came.
  std::optional<int> close_code() const;
  // Every message received so far, in order, for failure messages.
  std::vector<std::string> received() const;

 private:
  void start_read();

  std::string target_;
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer read_buffer_;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::string> inbox_;
  std::vector<std::string> history_;
  std::optional<std::string> closed_;  // why the connection ended
  std::optional<int> close_code_;
};

// The HTTP status the server answers to a WebSocket upgrade of `target`: 101 when it accepts.
int ws_upgrade_status(unsigned short port, const std::string& target,
                      std::chrono::milliseconds timeout = 10s);

}  // namespace streamgate::it
