#include "api/listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/write.hpp>
#include <array>
#include <chrono>
#include <optional>
#include <sstream>
#include <utility>

#include "api/connection_errors.hpp"
#include "api/connection_limit.hpp"
#include "api/http_session.hpp"
#include "api/responses.hpp"

namespace streamgate {

namespace {
// After a failed accept (typically out of file descriptors): retrying at once would spin.
constexpr auto accept_backoff = std::chrono::milliseconds(50);

// A connection turned away gets this long to take its 503 and close; its unread request is
// drained meanwhile (up to a few bytes), since closing on unread input resets the connection
// and may destroy the answer before the client reads it.
constexpr auto busy_linger = std::chrono::seconds(1);
constexpr std::size_t busy_drain_bytes = 64 * 1024;
// Connections being turned away hold descriptors too: past this many at once, a new one is
// closed without an answer, so a flood cannot turn the refusals themselves into a leak.
constexpr int max_turning_away = 64;

std::string render_busy_answer() {
  http_response res =
      unavailable_response("too many open connections; retry later");
  res.keep_alive(false);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  return std::move(out).str();
}

// Decrements on every way out of the coroutine.
class count_guard final {
 public:
  explicit count_guard(std::atomic<int>& count) : count_(count) {}
  ~count_guard() { --count_; }
  count_guard(const count_guard&) = delete;
  count_guard& operator=(const count_guard&) = delete;

 private:
  std::atomic<int>& count_;
};

}  // namespace

listener::listener(asio::io_context& ioc, const asio::ip::tcp::endpoint& endpoint,
                   api_services& services, const std::vector<std::string>& allowed_origins)
    : ioc_(ioc),
      acceptor_(asio::make_strand(ioc)),
      services_(services),
      guard_(std::make_shared<const cross_site_guard>(endpoint.address().is_loopback(),
                                                      allowed_origins)),
      busy_answer_(render_busy_answer()) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void listener::run() {
  asio::co_spawn(
      acceptor_.get_executor(), [self = shared_from_this()] { return self->accept_loop(); },
      log_unhandled);
}

void listener::stop() {
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::system::error_code ignored;
    self->acceptor_.close(ignored);
  });
}

asio::awaitable<void> listener::accept_loop() {
  while (acceptor_.is_open()) {
    // Each connection on its own strand: its coroutine, timers and posted replies never race.
    auto [ec, socket] = co_await acceptor_.async_accept(asio::make_strand(ioc_), use_nothrow);
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
    if (ec) {
      ++accept_failures_unlogged_;
      const auto now = std::chrono::steady_clock::now();
      if (now - accept_warned_at_ >= std::chrono::seconds(1)) {
        spdlog::warn("accept failed ({} time(s) since the last line): {}",
                     std::exchange(accept_failures_unlogged_, 0), ec.message());
        accept_warned_at_ = now;
      }
      asio::steady_timer backoff(acceptor_.get_executor(), accept_backoff);
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    std::optional<connection_slot> slot =
        services_.connections ? services_.connections->try_acquire() : connection_slot{};
    if (!slot) {
      if (!std::exchange(at_limit_, true))
        spdlog::warn("{} connections open, the limit (--max-connections): new ones get 503",
                     services_.connections->max());
      turn_away(std::move(socket));
      continue;
    }
    at_limit_ = false;
    // Answers are small and written whole; waiting to coalesce them only adds latency.
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    std::make_shared<http_session>(std::move(socket), services_, guard_, std::move(*slot))->run();
  }
}

void listener::turn_away(asio::ip::tcp::socket socket) {
  if (turning_away_.load() >= max_turning_away) return;  // the socket closes here
  ++turning_away_;
  const auto executor = socket.get_executor();
  asio::co_spawn(
      executor,
      [self = shared_from_this(), socket = std::move(socket)]() mutable {
        return self->answer_busy(std::move(socket));
      },
      log_unhandled);
}

asio::awaitable<void> listener::answer_busy(asio::ip::tcp::socket socket) {
  const count_guard done(turning_away_);
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(busy_linger);
  const auto [write_error, written] =
      co_await asio::async_write(stream, asio::buffer(busy_answer_), use_nothrow);
  if (write_error) co_return;
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  std::array<char, 4096> sink;
  for (std::size_t drained = 0; drained < busy_drain_bytes;) {
    const auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
    if (ec) break;
    drained += n;
  }
}

}  // namespace streamgate
