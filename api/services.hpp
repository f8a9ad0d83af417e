#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>

namespace streamgate {

class connection_limit;
class playback_gate;
class start_rate_limit;
class authenticator;
class router;
struct link_stats;
class worker_client;
class ws_registry;

// What every connection shares. main declares it before the io_context, so it outlives any
// handler the io_context still destroys on exit.
struct api_services {
  worker_client& worker;
  ws_registry& sockets;
  const router& routes;
  std::chrono::milliseconds verdict_timeout;
  std::filesystem::path web_root;
  // Set on SIGINT/SIGTERM: answers then carry Connection: close, so keep-alive clients let go.
  std::atomic<bool> stopping{false};
  // Requests read and not yet answered, so a shutdown can let them finish.
  std::atomic<int> active_requests{0};
  // The /docs renderer's files, served as /docs/assets/ (docs/build.sh's output).
  std::filesystem::path docs_root{};
  // The link's counters for /metrics; none in tests with a fake worker.
  const link_stats* link = nullptr;
  // Bearer tokens (--auth token); none with --auth none, so every route is open.
  authenticator* auth = nullptr;
  // Playback tokens and the media they open (docs/design.md §9); none in tests without media.
  const playback_gate* playback = nullptr;
  std::filesystem::path media_root{};
  // Starts per user (--start-rate, --start-burst); none in tests that need no limit.
  start_rate_limit* start_limit = nullptr;
  std::size_t max_websockets_per_user = 32;
  // The cap on open connections (--max-connections); none in tests that need no listener.
  connection_limit* connections = nullptr;
};

}  // namespace streamgate
