#pragma once

// What a worker answers and publishes, typed (docs/design.md §10): the worker sends these, the
// wire codec (common/wire) carries them, and the api renders every client body and WebSocket
// message from them in one place (api/views). A body's JSON shape is therefore written once, in
// the api, and the worker knows no client JSON.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/domain.hpp"
#include "common/error.hpp"
#include "common/messages.hpp"

namespace streamgate {

// A user as the routes show it: with the limit and policy that apply (plan and overrides
// resolved, docs/design.md §2) and its live streams counted. The token hash never leaves the
// worker: the codec does not carry it.
struct user_view {
  user u;
  int limit = 0;
  policy effective_policy = policy::deny;
  int active = 0;
  bool operator==(const user_view&) const = default;
};

// A heartbeat's answer: the stream's new lease end.
struct lease {
  std::int64_t expires_at_ms = 0;
  bool operator==(const lease&) const = default;
};

// A ping's answer: the worker's wall clock as it answered, from which the api measures how far
// apart their clocks are (api/worker_link/clock_offset.hpp), and where its events stand, as the
// heartbeat this ping made tells too (docs/design.md §9): its life, so the api counts the worker
// heard only while its events come from that life (a killed worker's last messages can still
// reach an api after its successor answers), and the messages published in it, so an api that
// heard a backlog after a silence has caught up once it heard that many.
struct clock_reading {
  std::int64_t wall_ms = 0;
  event_position position;
  bool operator==(const clock_reading&) const = default;
};

// The WebSocket snapshot: the user's live streams as of event `seq` of `epoch` (the dataset id),
// so an api orders the user's events against it (api/websocket/event_order.hpp).
struct user_snapshot {
  std::string user_id;
  std::vector<stream> streams;
  int limit = 0;
  std::string epoch;
  std::uint64_t seq = 0;
  bool operator==(const user_snapshot&) const = default;
};

// Counted where decisions are made, committed decisions only (docs/design.md, "Metrics").
struct decision_counters {
  std::uint64_t allowed = 0;
  std::uint64_t denied = 0;
  std::uint64_t over_limit = 0;
  std::uint64_t near_limit = 0;
  std::uint64_t evicted = 0;
  std::uint64_t expired = 0;
  std::uint64_t replayed = 0;
  std::uint64_t conflicts = 0;  // commits refused by the version check, then decided again
  bool operator==(const decision_counters&) const = default;
};

// How long something took on a worker, as a histogram (rendered in seconds for /metrics).
struct duration_histogram {
  static constexpr std::array<std::uint64_t, 12> bounds_us{
      100, 250, 500, 1'000, 2'500, 5'000, 10'000, 25'000, 50'000, 100'000, 250'000, 1'000'000};
  std::uint64_t count = 0;
  std::uint64_t sum_us = 0;
  std::array<std::uint64_t, bounds_us.size()> cumulative{};  // of at most bounds_us[i]

  void observe(std::uint64_t us) {
    ++count;
    sum_us += us;
    for (std::size_t i = 0; i < bounds_us.size(); ++i)
      if (us <= bounds_us[i]) ++cumulative[i];
  }
  bool operator==(const duration_histogram&) const = default;
};

// The answer to `stats`: the worker's batch size histogram and decision counters, for /metrics.
struct worker_stats {
  // Upper bounds of the histogram's buckets; beyond the last one a batch counts in +Inf only.
  static constexpr std::array<std::uint64_t, 13> bounds{1,   2,   4,   8,    16,   32,   64,
                                                        128, 256, 512, 1024, 4096, 16384};
  std::uint64_t batches = 0;                              // the histogram's count
  std::uint64_t requests = 0;                             // its sum
  std::array<std::uint64_t, bounds.size()> cumulative{};  // batches of at most bounds[i]
  std::optional<std::uint64_t> active_streams;            // when the store can tell
  decision_counters decisions;
  // A batch's load, decisions and durable commit; the store's background step (lease expiry
  // aside: the stores prune there).
  duration_histogram batch_time;
  duration_histogram background_step_time;
  bool operator==(const worker_stats&) const = default;
};

// The body of a reply, by op (docs/design.md §3 lists the routes):
//   std::monostate  stop, stop-all, delete (no_content), authenticate (ok, "{}")
//   error           every failure
//   user_view       get, create, patch, rotate token
//   std::vector<user_view>  a page of users
//   std::vector<stream>     a user's streams
//   verdict         a start (allowed, denied), a request looked up
//   lease           a heartbeat
//   user_snapshot   snapshot
//   video, std::vector<video>, std::vector<plan>, std::vector<audit_entry>, worker_stats
//   clock_reading   a ping
using reply_body =
    std::variant<std::monostate, error, user_view, std::vector<user_view>, std::vector<stream>,
                 verdict, lease, user_snapshot, video, std::vector<video>, std::vector<plan>,
                 std::vector<audit_entry>, worker_stats, clock_reading>;

// What a worker publishes about a user (docs/design.md §4): the api renders it as the
// WebSocket message, numbered with the sequence frame's seq.
using event_body = std::variant<verdict, ended_event, access_revoked>;

}  // namespace streamgate
