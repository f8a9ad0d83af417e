#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>

#include "api/http_types.hpp"
#include "api/services.hpp"

namespace streamgate {

// Accepts connections and gives each its own strand and http_session.
class listener final : public std::enable_shared_from_this<listener> {
 public:
  // Binds at once, so a port in use fails at start-up (boost::system::system_error).
  listener(asio::io_context& ioc, const asio::ip::tcp::endpoint& endpoint, api_services& services);

  void run();
  // From any thread: no new connections; the ones open stay.
  void stop();

  asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  asio::awaitable<void> accept_loop();

  asio::io_context& ioc_;
  asio::ip::tcp::acceptor acceptor_;
  api_services& services_;
};

}  // namespace streamgate
