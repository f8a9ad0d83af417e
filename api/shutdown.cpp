#include "api/shutdown.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>

#include "api/websocket/ws_registry.hpp"

namespace streamgate {

namespace {

using namespace std::chrono_literals;

constexpr auto drain_poll = 10ms;
// For the close handshakes of the WebSockets, and for the 503s of the callers the stopped
// link let go.
constexpr auto short_drain = 500ms;

template <class Done>
asio::awaitable<void> wait_until(Done done, std::chrono::milliseconds limit) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    timer.expires_after(drain_poll);
    co_await timer.async_wait(use_nothrow);
  }
}

}  // namespace

asio::awaitable<void> shut_down(asio::io_context& ioc, std::shared_ptr<listener> server,
                                api_services& services, worker_link& link) {
  spdlog::info("stopping: {} requests in flight, {} WebSockets", services.active_requests.load(),
               services.sockets.size());
  const auto no_requests = [&services] { return services.active_requests.load() == 0; };
  services.stopping = true;
  server->stop();
  services.sockets.shut_down_all();
  // A request waiting for a verdict may take the whole verdict timeout.
  co_await wait_until(no_requests, services.verdict_timeout + short_drain);
  const auto no_websockets = [&services] { return services.sockets.size() == 0; };
  co_await wait_until(no_websockets, short_drain);
  link.stop();
  co_await wait_until(no_requests, short_drain);
  const link_stats& stats = link.stats();
  spdlog::info("worker link: {} sent, {} resent, {} refused, {} timed out, {} late, {} malformed",
               stats.sent.load(), stats.resent.load(), stats.refused.load(), stats.timeouts.load(),
               stats.late_replies.load(), stats.malformed.load());
  ioc.stop();
}

}  // namespace streamgate
