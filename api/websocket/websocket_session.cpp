#include "api/websocket/websocket_session.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <utility>
#include <variant>

#include "api/http/connection_errors.hpp"
#include "api/routes/new_start.hpp"
#include "api/routes/start_rate_limit.hpp"
#include "api/views/views.hpp"
#include "api/worker_link/worker_client.hpp"

namespace streamgate {

namespace websocket = beast::websocket;

namespace {

using namespace std::chrono_literals;

constexpr std::size_t max_message_bytes = 16 * 1024;
// A client that leaves this much unread is not reading: it is closed rather than allowed to grow
// the server's memory. Bytes too, because a denied verdict lists every stream of the user.
constexpr std::size_t max_outbox = 4096;
constexpr std::size_t max_outbox_bytes = 8 * 1024 * 1024;
// One socket write carries the messages queued, up to about this much: a reading client keeps up
// with a burst in a few turns of the io thread, and a client that stops reading holds at most
// this much copied beside the outbox (api/websocket/batched_write_stream).
constexpr std::size_t max_batch_bytes = 64 * 1024;
// The kernel's send buffer of a WebSocket (Linux doubles it for its bookkeeping). Left to grow,
// Linux lets it reach 4 MiB: a client that stops reading would go on taking a share of the io
// thread for thousands of messages before it looked any different from one that reads, and under
// load its siblings that read were closed with it. Pushed events are small; this still carries
// megabytes a second to a reader 100 ms away.
constexpr int socket_send_buffer_bytes = 128 * 1024;
constexpr auto handshake_timeout = 30s;
// Beast pings after half of it without traffic, and closes after all of it without an answer.
constexpr auto idle_timeout = 60s;

// A reply that is not an error where one was expected still gets an error message.
error error_of(const worker_reply& reply) {
  if (const auto* e = std::get_if<error>(&reply.body)) return *e;
  return error{error_code::internal, "the worker's answer was not the expected one"};
}

// The snapshot of a reply and the event sequence point it reflects; null when it holds none.
const user_snapshot* snapshot_of(const std::optional<worker_reply>& reply) {
  return reply && reply->result == outcome::ok ? std::get_if<user_snapshot>(&reply->body)
                                                : nullptr;
}

}  // namespace

websocket_session::websocket_session(beast::tcp_stream&& stream, std::string user_id,
                                     api_services& services)
    : ws_(std::move(stream)),
      user_id_(std::move(user_id)),
      services_(services),
      outbox_ready_(ws_.get_executor()) {}

websocket_session::~websocket_session() { services_.sockets.remove(user_id_, this); }

void websocket_session::run(http_request request) {
  asio::co_spawn(
      ws_.get_executor(),
      [self = shared_from_this(), request = std::move(request)]() mutable {
        return self->serve(std::move(request));
      },
      log_unhandled);
}

void websocket_session::deliver(std::shared_ptr<const user_event> event) {
  asio::post(ws_.get_executor(), [self = shared_from_this(), event = std::move(event)]() mutable {
    self->on_event(std::move(event));
  });
}

void websocket_session::notify(std::shared_ptr<const std::string> message) {
  asio::post(ws_.get_executor(), [self = shared_from_this(), message = std::move(message)]() mutable {
    self->enqueue(std::move(message));
  });
}

void websocket_session::resync() {
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    if (self->closing_ || !self->order_.begin_fetch()) return;
    asio::co_spawn(
        self->ws_.get_executor(), [self] { return self->refresh_snapshot(); }, log_unhandled);
  });
}

void websocket_session::on_event(std::shared_ptr<const user_event> event) {
  if (closing_) return;
  std::vector<message_ptr> ready;
  // Aliases the event's text: every socket of the user shares the one copy.
  message_ptr text(event, &event->text);
  const bool fetch = order_.on_event(std::move(text), event->mark, ready);
  enqueue_all(ready);
  if (order_.held() > max_outbox) {
    spdlog::warn("closing a WebSocket of user '{}': {} events held for a snapshot", user_id_,
                 order_.held());
    abort();
    return;
  }
  if (fetch)
    asio::co_spawn(
        ws_.get_executor(), [self = shared_from_this()] { return self->refresh_snapshot(); },
        log_unhandled);
}

void websocket_session::enqueue_all(std::vector<message_ptr>& messages) {
  for (message_ptr& m : messages) enqueue(std::move(m));
}

void websocket_session::shut_down() {
  asio::post(ws_.get_executor(), [self = shared_from_this()] {
    if (self->closing_) return;
    self->closing_ = true;
    self->outbox_ready_.cancel();
    // Still in the handshake: serve() closes once it is over.
    if (!self->open_) return;
    asio::co_spawn(
        self->ws_.get_executor(),
        [self]() -> asio::awaitable<void> {
          co_await self->ws_.async_close(websocket::close_code::going_away, use_nothrow);
        },
        log_unhandled);
  });
}

asio::awaitable<void> websocket_session::serve(http_request request) {
  // The websocket stream keeps its own timeouts; the tcp_stream's would cut it mid-life.
  beast::get_lowest_layer(ws_).expires_never();
  beast::error_code ignored;  // without it the kernel's default applies: still bounded
  beast::get_lowest_layer(ws_).socket().set_option(
      asio::socket_base::send_buffer_size(socket_send_buffer_bytes), ignored);
  ws_.set_option(websocket::stream_base::timeout{handshake_timeout, idle_timeout, true});
  ws_.read_message_max(max_message_bytes);
  ws_.text(true);
  ws_.next_layer().keep_alive_with(weak_from_this());
  // Registered before the snapshot is asked for, so no event falls between the two; events
  // that arrive meanwhile are held and put in order around the snapshot. And before the
  // handshake, so the socket counts against --max-websockets-per-user from the moment it passed
  // that check, not only once the 101 went out (the destructor unregisters it).
  order_.begin_fetch();
  services_.sockets.add(user_id_, shared_from_this());
  const auto [ec] = co_await ws_.async_accept(request, use_nothrow);
  if (ec) {
    log_connection_failure("websocket handshake", ec);
    co_return;
  }
  open_ = true;
  if (closing_) {
    const auto [close_error] = co_await ws_.async_close(websocket::close_code::going_away,
                                                        use_nothrow);
    log_connection_failure("websocket close", close_error);
    co_return;
  }
  if (!co_await send_snapshot()) co_return;
  asio::co_spawn(
      ws_.get_executor(), [self = shared_from_this()] { return self->write_loop(); },
      log_unhandled);
  co_await read_loop();
}

asio::awaitable<bool> websocket_session::send_snapshot() {
  request_body body = snapshot_request{user_id_};
  auto reply = co_await services_.worker.call(std::move(body), services_.verdict_timeout);
  if (const user_snapshot* snapshot = snapshot_of(reply)) {
    // Queued, not written: write_loop, started next, sends it with the events held meanwhile.
    std::vector<message_ptr> ready;
    const bool fetch =
        order_.on_snapshot(std::make_shared<const std::string>(render_snapshot(*snapshot)),
                           {snapshot->epoch, snapshot->seq}, ready);
    enqueue_all(ready);
    if (fetch)
      asio::co_spawn(
          ws_.get_executor(), [self = shared_from_this()] { return self->refresh_snapshot(); },
          log_unhandled);
    co_return !closing_;
  }
  // Unknown user (policy violation), no worker (try again later) or a worker failure: say why
  // in a message, then close with the matching code.
  std::string message;
  websocket::close_code code = websocket::close_code::internal_error;
  if (!reply) {
    message = render_socket_error(error{error_code::unavailable, "no worker answered; reconnect"});
    code = websocket::close_code::try_again_later;
  } else if (reply->result == outcome::ok) {
    message = render_socket_error(error{error_code::internal, "the worker sent no snapshot"});
  } else {
    message = render_socket_error(error_of(*reply));
    if (reply->result == outcome::not_found) code = websocket::close_code::policy_error;
  }
  closing_ = true;
  const auto [write_error, n] = co_await ws_.async_write(asio::buffer(message), use_nothrow);
  if (write_error) {
    log_connection_failure("websocket write", write_error);
    co_return false;
  }
  const auto [close_error] = co_await ws_.async_close(code, use_nothrow);
  log_connection_failure("websocket close", close_error);
  co_return false;
}

asio::awaitable<void> websocket_session::refresh_snapshot() {
  // Bounded: a user whose events keep arriving out of order (a flapping worker) gets them as
  // they come rather than a socket that never stops asking.
  constexpr int max_fetches = 4;
  for (int fetches = 0; fetches < max_fetches && !closing_; ++fetches) {
    request_body body = snapshot_request{user_id_};
    auto reply = co_await services_.worker.call(std::move(body), services_.verdict_timeout);
    const user_snapshot* snapshot = snapshot_of(reply);
    if (!snapshot || closing_) break;
    std::vector<message_ptr> ready;
    const bool again =
        order_.on_snapshot(std::make_shared<const std::string>(render_snapshot(*snapshot)),
                           {snapshot->epoch, snapshot->seq}, ready);
    enqueue_all(ready);
    if (!again) co_return;
  }
  std::vector<message_ptr> held;
  order_.give_up(held);
  enqueue_all(held);
}

asio::awaitable<void> websocket_session::read_loop() {
  for (;;) {
    buffer_.clear();
    const auto [ec, n] = co_await ws_.async_read(buffer_, use_nothrow);
    if (ec) {
      log_connection_failure("websocket read", ec);
      break;
    }
    co_await answer({static_cast<const char*>(buffer_.data().data()), buffer_.size()});
  }
  closing_ = true;
  outbox_ready_.cancel();
}

asio::awaitable<void> websocket_session::write_loop() {
  writing_ = true;
  while (!closing_) {
    if (outbox_.empty()) {
      outbox_ready_.expires_at(asio::steady_timer::time_point::max());
      co_await outbox_ready_.async_wait(use_nothrow);
      continue;
    }
    // Everything queued meanwhile, framed into one buffer and written at once: a socket that
    // reads keeps up however many other sockets the io thread serves (docs/design.md §4, "Slow
    // readers"). Not after a close frame went out (Beast's read answers the client's close).
    beast::error_code ec;
    for (std::size_t batch = 0; !outbox_.empty() && batch < max_batch_bytes && ws_.is_open();) {
      const std::size_t size = outbox_.front()->size();
      ws_.write(asio::buffer(*outbox_.front()), ec);
      if (ec) break;
      batch += size;
      outbox_bytes_ -= size;
      outbox_.pop_front();
    }
    if (!ec) ec = co_await ws_.next_layer().flush();
    if (ec) {
      log_connection_failure("websocket write", ec);
      break;
    }
    if (!ws_.is_open()) break;
  }
  writing_ = false;
}

asio::awaitable<void> websocket_session::answer(std::string_view text) {
  auto message = decode_ws_client_message(text);
  if (!message) {
    enqueue(render_socket_error(message.error()));
    co_return;
  }
  if (auto* s = std::get_if<ws_start>(&*message)) {
    start(*s);
  } else if (const auto* h = std::get_if<ws_heartbeat>(&*message)) {
    co_await heartbeat(h->stream_id);
  } else {
    co_await stop(std::get<ws_stop>(*message).stream_id);
  }
}

void websocket_session::start(ws_start& message) {
  start_request start = new_start(std::move(message.body), user_id_);
  const std::string request_id = start.request_id;
  if (const auto refused = refuse_start(services_, user_id_)) {
    enqueue(render_socket_error(refused->reason, "requestId", request_id));
    return;
  }
  worker_client& worker = services_.worker;
  // The verdict comes back as an event, like every verdict; only a failure to send is answered.
  if (worker.worker_up() && worker.send_only(std::move(start))) return;
  enqueue(render_socket_error(
      error{error_code::unavailable, "no worker is available; retry with the same requestId"},
      "requestId", request_id));
}

asio::awaitable<void> websocket_session::heartbeat(const std::string& stream_id) {
  request_body body = heartbeat_request{user_id_, stream_id};
  auto reply = co_await services_.worker.call(std::move(body), services_.verdict_timeout);
  const auto* renewed = reply ? std::get_if<lease>(&reply->body) : nullptr;
  if (!reply) {
    enqueue(render_socket_error(error{error_code::unavailable, "no worker answered; retry"},
                                "streamId", stream_id));
  } else if (reply->result == outcome::ok && renewed) {
    enqueue(render_socket_heartbeat(stream_id, *renewed,
                                    reply->playback ? &*reply->playback : nullptr));
  } else {
    enqueue(render_socket_error(error_of(*reply), "streamId", stream_id));
  }
}

asio::awaitable<void> websocket_session::stop(const std::string& stream_id) {
  request_body body = stop_request{user_id_, stream_id};
  auto reply = co_await services_.worker.call(std::move(body), services_.verdict_timeout);
  // Success needs no answer: the "ended" event reaches every socket of the user.
  if (!reply) {
    enqueue(render_socket_error(error{error_code::unavailable, "no worker answered; retry"},
                                "streamId", stream_id));
  } else if (reply->result != outcome::ok && reply->result != outcome::no_content) {
    enqueue(render_socket_error(error_of(*reply), "streamId", stream_id));
  }
}

void websocket_session::enqueue(std::shared_ptr<const std::string> message) {
  if (closing_) return;
  if (outbox_.size() >= max_outbox || outbox_bytes_ + message->size() > max_outbox_bytes) {
    spdlog::warn("closing a WebSocket of user '{}': {} messages ({} bytes) unread", user_id_,
                 outbox_.size(), outbox_bytes_);
    abort();
    return;
  }
  outbox_bytes_ += message->size();
  outbox_.push_back(std::move(message));
  if (writing_) outbox_ready_.cancel();
}

void websocket_session::enqueue(std::string message) {
  enqueue(std::make_shared<const std::string>(std::move(message)));
}

void websocket_session::abort() {
  // No close handshake: the client is not reading, so it would never complete.
  closing_ = true;
  outbox_ready_.cancel();
  beast::get_lowest_layer(ws_).close();
}

}  // namespace streamgate
