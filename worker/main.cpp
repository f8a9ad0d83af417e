// streamgate-worker: decides, stores and publishes. Only wiring here: the store named by --store,
// the decision core's rules, the catalog seeded into a store that has none, and the one loop
// (worker/server/worker_loop.hpp).

#include <signal.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <zmq.hpp>

#include "common/config.hpp"
#include "common/ids.hpp"
#include "common/link_keys.hpp"
#include "common/log.hpp"
#include "worker/seed.hpp"
#include "worker/server/dataset_settings.hpp"
#include "worker/server/decider.hpp"
#include "worker/server/worker_loop.hpp"
#include "worker/server/zap_handler.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/redis/router.hpp"
#include "worker/store/sqlite/sqlite_store.hpp"

namespace {

constexpr std::string_view program = "streamgate-worker";
constexpr int exit_usage = 2;

// The SQLite file of a `sqlite:PATH` store; nullopt for any other store.
std::optional<std::string> sqlite_path(const std::string& store) {
  constexpr std::string_view prefix = "sqlite:";
  if (store.starts_with(prefix) && store.size() > prefix.size()) return store.substr(prefix.size());
  return std::nullopt;
}

// Takes SIGINT/SIGTERM synchronously on its own thread and asks the loop to stop. The signals
// are blocked in every thread, so no handler ever interrupts a system call of ZeroMQ or a store.
std::jthread stop_on_signal(sigset_t signals, std::atomic<bool>& stop_requested) {
  return std::jthread([signals, &stop_requested](const std::stop_token& token) {
    // Wakes regularly so the thread can be joined when the loop stopped for another reason.
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

std::unique_ptr<streamgate::store> open_store(const streamgate::worker_config& config) {
  using namespace streamgate;
  const auto audit_cap = static_cast<std::size_t>(config.audit_lines_per_user);
  const std::int64_t request_memory_ms = std::int64_t{config.request_memory_seconds} * 1000;
  if (const auto path = sqlite_path(config.store))
    return sqlite_store::open(*path, audit_cap, request_memory_ms);
  redis_store_options options;
  options.request_memory_ms = request_memory_ms;
  options.audit_cap = audit_cap;
  return redis_store::open(*parse_redis_urls(config.store), options);
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
  if (!sqlite_path(config.store) && !parse_redis_urls(config.store)) {
    std::cerr << program << ": unknown store '" << config.store
              << "' (expected sqlite:PATH or redis://HOST:PORT[,HOST:PORT...])\n";
    return exit_usage;
  }
  init_logging(config.log, program);

  // hiredis writes with write(): a Redis that reset the connection must give an error, not a
  // SIGPIPE that ends the worker.
  signal(SIGPIPE, SIG_IGN);
  // Blocked before any thread starts (ZeroMQ's included), so every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::atomic<bool> stop_requested{false};
  const std::jthread signal_waiter = stop_on_signal(signals, stop_requested);
  try {
    const std::unique_ptr<store> s = open_store(config);
    const core::rules rules = rules_from(config);
    if (!s->seeded()) {
      if (!s->exclusive() && !config.seed) {
        spdlog::critical(
            "the store {} holds no dataset: a new Redis, or one that lost its data; start one "
            "worker with --seed to load the catalog '{}' into it",
            config.store, config.catalog);
        return exit_usage;
      }
      const auto seeded = seed_unless_another_does(*s, config.catalog, rules, stop_requested);
      if (!seeded) {
        spdlog::error("{}", seeded.error().message);
        return exit_usage;
      }
      if (stop_requested) return 0;
      if (*seeded)
        spdlog::info("empty store: loaded the catalog '{}'", config.catalog);
      else
        spdlog::info("another worker seeded the store meanwhile: serving the catalog it loaded");
    }
    // Before the sockets are bound: a worker refused never serves (a life of its own for the
    // question, ended at once).
    const std::string settings = settings_text(config);
    claim_settings(*s, new_id("l"), settings);
    decider d(*s, rules);
    zmq::context_t context;
    // CURVE on the worker link (docs/design.md §6): the ZAP handler first, so that no handshake
    // on the loop's sockets is ever accepted without asking it.
    std::optional<zap_handler> zap;
    if (!config.link_keys.secret_key.empty()) {
      zap.emplace(context, config.link_keys.allowed_clients);
      // The public key the apis must be given, so an operator can check it against theirs.
      std::array<char, z85_key_length + 1> public_key{};
      if (zmq_curve_public(public_key.data(), config.link_keys.secret_key.c_str()) != 0)
        throw zmq::error_t();
      spdlog::info("worker link: CURVE, public key {}, {} allowed api key(s)", public_key.data(),
                   config.link_keys.allowed_clients.size());
    } else if (config.insecure_link) {
      spdlog::warn("worker link: --insecure-link, no CURVE keys: any process that reaches {} or "
                   "{} may act for every user",
                   config.bind.requests, config.bind.events);
    }
    worker_loop loop(context, config.bind, config.max_batch, d, *s,
                     std::chrono::hours(24) * config.audit_retention_days,
                     config.link_keys.secret_key, settings);
    spdlog::info("{} started: requests {}, events {}, store {} (dataset {})", program,
                 config.bind.requests, config.bind.events, config.store, s->dataset_id());
    loop.run(stop_requested);
    spdlog::info("{} stopped cleanly", program);
    return 0;
  } catch (const settings_disagree& e) {
    spdlog::critical("{}", e.what());
    return exit_usage;
  } catch (const std::exception& e) {
    // A store that is in use by another worker, lost, or unreachable at start.
    spdlog::critical("{}", e.what());
    return 1;
  }
}
