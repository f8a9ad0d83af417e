#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "api/websocket/batched_write_stream.hpp"
#include "api/http/connection_limit.hpp"
#include "api/websocket/event_order.hpp"
#include "api/http/http_types.hpp"
#include "api/services.hpp"
#include "api/websocket/ws_registry.hpp"
#include "common/codec.hpp"

namespace streamgate {

// One user's WebSocket (docs/design.md §4). After the handshake it registers for the user's
// events and sends the user's snapshot before any event; then one coroutine reads the client's
// messages and another writes the outbox, everything queued at once (api/websocket/batched_write_stream).
// Everything runs on the connection's strand.
class websocket_session final : public event_sink,
                                public std::enable_shared_from_this<websocket_session> {
 public:
  websocket_session(beast::tcp_stream&& stream, std::string user_id, api_services& services);
  ~websocket_session();

  // Accepts the upgrade `request` and serves the socket until it closes.
  void run(http_request request);
  // The connection's slot of the connection limit, held until the socket closes.
  void hold(connection_slot slot) { slot_ = std::move(slot); }

  void deliver(std::shared_ptr<const user_event> event) override;
  void notify(std::shared_ptr<const std::string> message) override;
  void resync() override;
  void shut_down() override;

 private:
  asio::awaitable<void> serve(http_request request);
  asio::awaitable<bool> send_snapshot();
  // Fetches snapshots until one leaves the events in order (event_order).
  asio::awaitable<void> refresh_snapshot();
  void on_event(std::shared_ptr<const user_event> event);
  void enqueue_all(std::vector<message_ptr>& messages);
  asio::awaitable<void> read_loop();
  asio::awaitable<void> write_loop();
  asio::awaitable<void> answer(std::string_view text);
  void start(ws_start& message);
  asio::awaitable<void> heartbeat(const std::string& stream_id);
  asio::awaitable<void> stop(const std::string& stream_id);
  void enqueue(std::shared_ptr<const std::string> message);
  void enqueue(std::string message);
  void abort();

  beast::websocket::stream<batched_write_stream> ws_;
  const std::string user_id_;
  api_services& services_;
  beast::flat_buffer buffer_;
  // Written by write_loop, a batch at a time; held back until the snapshot went out.
  std::deque<std::shared_ptr<const std::string>> outbox_;
  event_order order_;  // the user's events against the snapshots sent
  std::size_t outbox_bytes_ = 0;
  asio::steady_timer outbox_ready_;  // write_loop sleeps on it while the outbox is empty
  bool writing_ = false;
  bool open_ = false;  // the handshake is over
  bool closing_ = false;
  connection_slot slot_;
};

}  // namespace streamgate
