#include "api/http/listener.hpp"

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

#include "api/http/connection_errors.hpp"
#include "api/http/connection_limit.hpp"
#include "api/http/http_session.hpp"
#include "api/http/responses.hpp"

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

std::string render(http_response res) {
  res.keep_alive(false);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  return std::move(out).str();
}

std::string render_busy_answer() {
  return render(error_response(error_code::unavailable, "too many open connections; retry later"));
}

// Past --max-connections-per-address: its own code, so a client (or the operator of a proxy in
// front, whose address every client shares) can tell it from the api being full.
std::string render_address_busy_answer(std::size_t max_per_address) {
  http_response res = error_response(
      error_code::too_many_connections,
      "this client address has " + std::to_string(max_per_address) +
          " connections open, the most one address may (--max-connections-per-address); close "
          "one or retry later");
  res.set(http::field::retry_after, "1");
  return render(std::move(res));
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
                   api_services& services, const std::vector<std::string>& allowed_origins,
                   int io_threads)
    : ioc_(ioc),
      one_thread_(io_threads == 1),
      acceptor_(asio::make_strand(ioc)),
      services_(services),
      guard_(std::make_shared<const cross_site_guard>(endpoint.address().is_loopback(),
                                                      allowed_origins)),
      busy_answer_(render_busy_answer()),
      address_busy_answer_(render_address_busy_answer(
          services.connections ? services.connections->max_per_address() : 0)) {
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
    // With one io thread nothing can race, and a strand would only cost a lock and reference
    // counts at every step of every request.
    const asio::any_io_executor executor =
        one_thread_ ? asio::any_io_executor(ioc_.get_executor())
                    : asio::any_io_executor(asio::make_strand(ioc_));
    auto [ec, accepted] = co_await acceptor_.async_accept(executor, use_nothrow);
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
    asio::ip::tcp::socket socket(std::move(accepted));  // keeps that executor
    std::optional<connection_slot> slot = admit(socket);
    if (!slot) continue;
    // Answers are small and written whole; waiting to coalesce them only adds latency.
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    std::make_shared<http_session>(std::move(socket), services_, guard_, std::move(*slot))->run();
  }
}

std::optional<connection_slot> listener::admit(asio::ip::tcp::socket& socket) {
  if (!services_.connections) return connection_slot{};
  beast::error_code ec;
  const asio::ip::tcp::endpoint peer = socket.remote_endpoint(ec);
  if (ec) return std::nullopt;  // already gone: the socket closes here
  connection_limit::admission admitted = services_.connections->try_acquire(peer.address());
  switch (admitted.why) {
    case connection_limit::refusal::none:
      at_limit_ = false;
      return std::move(admitted.slot);
    case connection_limit::refusal::total:
      if (!std::exchange(at_limit_, true))
        spdlog::warn("{} connections open, the limit (--max-connections): new ones get 503",
                     services_.connections->max());
      turn_away(std::move(socket), busy_answer_);
      return std::nullopt;
    case connection_limit::refusal::per_address:
      // One line a second at most: a client at its cap may keep trying.
      ++address_refusals_unlogged_;
      if (const auto now = std::chrono::steady_clock::now();
          now - address_warned_at_ >= std::chrono::seconds(1)) {
        spdlog::warn("{} connection(s) refused since the last line: {} connections open from {}, "
                     "the limit (--max-connections-per-address)",
                     std::exchange(address_refusals_unlogged_, 0),
                     services_.connections->max_per_address(), peer.address().to_string());
        address_warned_at_ = now;
      }
      turn_away(std::move(socket), address_busy_answer_);
      return std::nullopt;
  }
  return std::nullopt;
}

void listener::turn_away(asio::ip::tcp::socket socket, const std::string& answer) {
  if (turning_away_.load() >= max_turning_away) return;  // the socket closes here
  ++turning_away_;
  const auto executor = socket.get_executor();
  asio::co_spawn(
      executor,
      [self = shared_from_this(), socket = std::move(socket), &answer]() mutable {
        return self->answer_busy(std::move(socket), answer);
      },
      log_unhandled);
}

asio::awaitable<void> listener::answer_busy(asio::ip::tcp::socket socket,
                                            const std::string& answer) {
  const count_guard done(turning_away_);
  beast::tcp_stream stream(std::move(socket));
  stream.expires_after(busy_linger);
  const auto [write_error, written] =
      co_await asio::async_write(stream, asio::buffer(answer), use_nothrow);
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
