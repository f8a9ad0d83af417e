#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http/connection_limit.hpp"
#include "api/http/cross_site_guard.hpp"
#include "api/http/http_types.hpp"
#include "api/services.hpp"

namespace streamgate {

// Accepts connections and gives each its own strand (when more than one thread runs the
// io_context) and http_session, up to the connection
// limits (api/http/connection_limit: in all, and from one client address). Past them, a new connection
// gets a short 503 and is closed, rather than left unaccepted:
// the client learns at once to retry later (or elsewhere, behind a load balancer) instead of
// hanging in the kernel's backlog until its connect times out, and the backlog never fills, so
// the kernel never starts dropping SYNs of clients that arrive once a slot is free. Turning a
// connection away costs one accept, one small write and a bounded drain.
class listener final : public std::enable_shared_from_this<listener> {
 public:
  // Binds at once, so a port in use fails at start-up (boost::system::system_error).
  // `allowed_origins` (--allowed-origin) may use the api from a browser besides its own origin;
  // bound to a loopback address it serves only loopback host names (api/http/cross_site_guard).
  // `io_threads`: how many threads run `ioc`; with one, a connection needs no strand.
  listener(asio::io_context& ioc, const asio::ip::tcp::endpoint& endpoint, api_services& services,
           const std::vector<std::string>& allowed_origins, int io_threads);

  void run();
  // From any thread: no new connections; the ones open stay.
  void stop();

  asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::awaitable<void> accept_loop();
  // The connection's slot, or none when it was turned away (or is already gone).
  std::optional<connection_slot> admit(asio::ip::tcp::socket& socket);
  // `answer` is one of the listener's rendered answers, which outlive the coroutine.
  void turn_away(asio::ip::tcp::socket socket, const std::string& answer);
  asio::awaitable<void> answer_busy(asio::ip::tcp::socket socket, const std::string& answer);

  asio::io_context& ioc_;
  const bool one_thread_;
  asio::ip::tcp::acceptor acceptor_;
  api_services& services_;
  // Shared with every session, which may outlive the listener at shutdown.
  const std::shared_ptr<const cross_site_guard> guard_;
  const std::string busy_answer_;          // the whole 503, rendered once
  const std::string address_busy_answer_;  // the same past --max-connections-per-address
  std::atomic<int> turning_away_{0};  // connections answered 503 and not closed yet
  bool at_limit_ = false;            // logs once per time the limit is reached; accept strand
  // Failed accepts are logged at most once a second (out of descriptors, they come in floods).
  std::chrono::steady_clock::time_point accept_warned_at_{};
  std::uint64_t accept_failures_unlogged_ = 0;
  // Refusals past the per-address cap likewise (a client at its cap may keep trying).
  std::chrono::steady_clock::time_point address_warned_at_{};
  std::uint64_t address_refusals_unlogged_ = 0;
};

}  // namespace streamgate
