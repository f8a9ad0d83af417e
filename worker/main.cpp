// streamgate-worker: decides, stores and publishes. Only wiring here; see worker_server.hpp.

#include <signal.h>

#include <atomic>
#include <cstring>
#include <ctime>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/config.hpp"
#include "common/log.hpp"
#include "worker/sqlite_store.hpp"
#include "worker/engine_server.hpp"
#include "worker/redis_client.hpp"
#include "worker/redis_engine.hpp"
#include "worker/startup.hpp"
#include "worker/stream_limiter.hpp"
#include "worker/worker_server.hpp"

namespace {

constexpr std::string_view program = "streamgate-worker";
constexpr int exit_usage = 2;

// The SQLite file of a `sqlite:PATH` store; nullopt for any other store.
std::optional<std::string> sqlite_path(const std::string& store) {
  constexpr std::string_view prefix = "sqlite:";
  if (store.starts_with(prefix) && store.size() > prefix.size()) return store.substr(prefix.size());
  return std::nullopt;
}

// Takes SIGINT/SIGTERM synchronously on its own thread and asks the server to stop. The signals
// are blocked in every thread, so no handler ever interrupts a system call of ZeroMQ or SQLite.
std::jthread stop_on_signal(sigset_t signals, std::atomic<bool>& stop_requested) {
  return std::jthread([signals, &stop_requested](const std::stop_token& token) {
    // Wakes regularly so the thread can be joined when the server stopped for another reason.
    const timespec tick{0, 100'000'000};
    while (!token.stop_requested()) {
      const int received = sigtimedwait(&signals, nullptr, &tick);
      if (received > 0) {
        spdlog::info("{}: stopping after the current batch", strsignal(received));
        stop_requested = true;
        return;
      }
    }
  });
}

// Several workers may share the Redis: each decision is a Lua script there (redis_engine.hpp).
int serve_with_redis(const streamgate::worker_config& config,
                     const streamgate::redis_address& address, sigset_t signals) {
  using namespace streamgate;
  try {
    redis_engine_options options;
    options.limits = limiter_options_from(config);
    auto engine = redis_engine::open(address, options, config.catalog);
    if (!engine) {
      spdlog::error("{}", engine.error().message);
      return exit_usage;
    }
    zmq::context_t context;
    engine_server server(context, config.bind, config.max_batch, **engine);
    std::atomic<bool> stop_requested{false};
    const std::jthread signal_waiter = stop_on_signal(signals, stop_requested);
    spdlog::info("{} started: requests {}, events {}, store {} (epoch {})", program,
                 config.bind.requests, config.bind.events, config.store, (*engine)->epoch());
    server.run(stop_requested);
    spdlog::info("{} stopped cleanly", program);
    return 0;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  using namespace streamgate;

  auto loaded = load_worker_config(argc, argv);
  if (!loaded) {
    std::cerr << program << ": " << loaded.error().message << '\n';
    return exit_usage;
  }
  if (loaded->help) {
    std::cout << loaded->help_text;
    return 0;
  }
  const worker_config& config = loaded->config;
  const auto store_path = sqlite_path(config.store);
  const auto redis = parse_redis_url(config.store);
  if (!store_path && !redis) {
    std::cerr << program << ": unknown store '" << config.store
              << "' (expected sqlite:PATH or redis://HOST:PORT)\n";
    return exit_usage;
  }
  init_logging(config.log, program);

  // Blocked before any thread starts (ZeroMQ's included), so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (redis) return serve_with_redis(config, *redis, signals);

  try {
    auto store = sqlite_store::open(*store_path);
    const limiter_options options = limiter_options_from(config);
    if (!store.has_catalog()) {
      if (auto seeded = seed_catalog(store, config.catalog, options); !seeded) {
        spdlog::error("{}", seeded.error().message);
        return exit_usage;
      }
      spdlog::info("empty store: loaded the catalog '{}'", config.catalog);
    }

    stream_limiter limiter(options);
    stored_state state = store.load();
    spdlog::info("restored {} users, {} videos, {} streams, {} remembered requests",
                 state.users.size(), state.videos.size(), state.streams.size(),
                 state.verdicts.size());
    restore(limiter, std::move(state), now());

    zmq::context_t context;
    worker_server server(context, config.bind, config.max_batch, limiter, store);
    std::atomic<bool> stop_requested{false};
    const std::jthread signal_waiter = stop_on_signal(signals, stop_requested);
    spdlog::info("{} started: requests {}, events {}, store {}", program, config.bind.requests,
                 config.bind.events, config.store);
    server.run(stop_requested);
    spdlog::info("{} stopped cleanly", program);
    return 0;
  } catch (const std::exception& e) {
    // Also a failed commit: the limiter may hold decisions that are not durable, so the process
    // must end; a restart reloads the truth from the store.
    spdlog::critical("{}", e.what());
    return 1;
  }
}
