// streamgate-api: wiring only (docs/design.md §7). The work is in streamgate_api_lib.

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "api/routes/api_routes.hpp"
#include "api/auth/auth.hpp"
#include "api/http/connection_errors.hpp"
#include "api/http/connection_limit.hpp"
#include "api/http/descriptor_limit.hpp"
#include "api/http/listener.hpp"
#include "api/playback/playback_gate.hpp"
#include "api/services.hpp"
#include "api/shutdown.hpp"
#include "api/routes/start_rate_limit.hpp"
#include "api/worker_link/worker_link.hpp"
#include "api/websocket/ws_registry.hpp"
#include "common/config.hpp"
#include "common/log.hpp"

int main(int argc, char* argv[]) {
  using namespace streamgate;
  const auto loaded = load_api_config(argc, argv);
  if (!loaded) {
    std::fprintf(stderr, "streamgate-api: %s\n", loaded.error().message.c_str());
    return 2;
  }
  if (loaded->help) {
    std::fputs(loaded->help_text.c_str(), stdout);
    return 0;
  }
  const api_config& config = loaded->config;
  init_logging(config.log, "streamgate-api");

  try {
    const std::chrono::milliseconds verdict_timeout(config.verdict_timeout_ms);
    // Declared before the io_context: handlers it destroys on exit still reach these.
    ws_registry sockets;
    playback_gate playback(
        playback_signer(playback_signer::key_from_hex(config.playback_key_hex),
                        std::chrono::seconds(config.playback_token_seconds)));
    if (config.playback_key_hex.empty())
      spdlog::warn("no --playback-key-file: playback tokens of this api are valid on no other");
    token_cache confirmed_tokens(authenticator::default_cache_capacity,
                                 authenticator::default_cache_ttl);
    worker_link link(config.workers, config.link_keys, sockets,
                     std::chrono::milliseconds(config.accepted_start_ms), playback,
                     confirmed_tokens);
    const router routes = make_api_router();
    const std::size_t open_files = raise_open_files_limit();
    const std::size_t max_connections =
        connections_within(static_cast<std::size_t>(config.max_connections), open_files);
    if (max_connections < static_cast<std::size_t>(config.max_connections))
      spdlog::warn("--max-connections {} lowered to {}: this process may open {} files", config.max_connections,
                   max_connections, open_files);
    connection_limit connections(max_connections,
                                 static_cast<std::size_t>(config.max_connections_per_address));
    api_services services{link, sockets, routes, verdict_timeout, config.web_root};
    services.docs_root = config.docs_root;
    services.link = &link.stats();
    services.connections = &connections;
    services.playback = &playback;
    services.media_root = config.media_root;
    start_rate_limit start_limit(config.start_rate, config.start_burst);
    services.start_limit = &start_limit;
    services.max_websockets_per_user = static_cast<std::size_t>(config.max_websockets_per_user);
    std::optional<authenticator> auth;
    if (config.auth == "token") {
      auth.emplace(config.admin_token, confirmed_tokens);
      services.auth = &*auth;
    }

    asio::io_context ioc(config.io_threads);
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(config.listen_host),
                                           config.listen_port);
    const auto server =
        std::make_shared<listener>(ioc, endpoint, services, config.allowed_origins,
                                   config.io_threads);
    link.start(ioc);
    // The link lets go of the io_context after the threads below, or when an exception leaves
    // this scope, and always before the io_context is destroyed.
    struct link_detacher {
      worker_link& link;
      ~link_detacher() { link.detach(); }
    } const detach_link_last{link};
    server->run();
    spdlog::info("listening on {}:{}, auth {}", server->local_endpoint().address().to_string(),
                 server->local_endpoint().port(), config.auth);

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (!ec) asio::co_spawn(ioc, shut_down(ioc, server, services, link), log_unhandled);
    });

    std::vector<std::thread> threads;
    for (int i = 1; i < config.io_threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
    ioc.run();
    for (std::thread& t : threads) t.join();
  } catch (const std::exception& e) {
    spdlog::critical("streamgate-api: {}", e.what());
    return 1;
  }
  return 0;
}
