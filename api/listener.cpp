#include "api/listener.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>

#include "api/connection_errors.hpp"
#include "api/http_session.hpp"

namespace streamgate {

namespace {
// After a failed accept (typically out of file descriptors): retrying at once would spin.
constexpr auto accept_backoff = std::chrono::milliseconds(50);
}  // namespace

listener::listener(asio::io_context& ioc, const asio::ip::tcp::endpoint& endpoint,
                   api_services& services)
    : ioc_(ioc), acceptor_(asio::make_strand(ioc)), services_(services) {
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
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer backoff(acceptor_.get_executor(), accept_backoff);
      co_await backoff.async_wait(use_nothrow);
      continue;
    }
    // Answers are small and written whole; waiting to coalesce them only adds latency.
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    std::make_shared<http_session>(std::move(socket), services_)->run();
  }
}

}  // namespace streamgate
