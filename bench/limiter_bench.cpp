// Start decisions on the limiter alone (no ZeroMQ, no SQLite): the ceiling of one worker thread.
// Time is injected: every decision advances a fake clock by 10 us, and expire_due() runs every
// 1024 decisions as the worker's loop does, so the request memory (1 s here, i.e. about 100k
// remembered verdicts) and the lease deadlines stay bounded however long the benchmark runs.

#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "worker/stream_limiter.hpp"

namespace {

using namespace streamgate;
using namespace std::chrono_literals;

struct fake_clock {
  instant t{steady_time{} + 1h, 1'800'000'000'000};
  instant tick() {
    t.mono += 10us;
    t.wall_ms += 0;  // wall time only labels streams; milliseconds are enough
    return t;
  }
};

// prefix + n, appended rather than `"r" + std::to_string(n)`: GCC 12 at -O3 reports a false
// -Wrestrict on operator+(const char*, std::string&&).
std::string id(std::string prefix, std::uint64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

limiter_options options() {
  limiter_options o;
  o.default_max_streams = 3;
  o.lease = 90s;
  o.request_memory = 1s;
  return o;
}

std::vector<std::string> load_users(stream_limiter& limiter, int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(id("bench-u", static_cast<std::uint64_t>(i)));
    limiter.load_user(user{ids.back(), id("Bench ", static_cast<std::uint64_t>(i)), std::nullopt, std::nullopt});
  }
  limiter.load_video(video{"v01", "Video 1", 600});
  return ids;
}

// What the worker does after each batch; here after each decision, which is its worst case.
void drain(stream_limiter& limiter) {
  benchmark::DoNotOptimize(limiter.take_changes());
  benchmark::DoNotOptimize(limiter.take_events());
}

// Allowed: users in rotation, a fresh session each time. Every user has room for 3; after three
// rotations every user's streams are stopped (stop_all, amortised into the figure). Arguments:
// users, and decisions per batch (the worker drains changes and events once per batch).
void BM_start_allowed(benchmark::State& state) {
  const int users = static_cast<int>(state.range(0));
  const auto batch = static_cast<std::uint64_t>(state.range(1));
  stream_limiter limiter(options());
  const auto ids = load_users(limiter, users);
  fake_clock clock;
  std::uint64_t n = 0;
  start_request r{"", "", "v01", ""};
  for (auto _ : state) {
    const auto& user_id = ids[n % ids.size()];
    r.request_id = id("r", n);
    r.session_id = id("s", n);
    r.user_id = user_id;
    auto decided = limiter.start(r, clock.tick());
    if (!decided || !decided->v->allowed) state.SkipWithError("a start was not allowed");
    ++n;
    if (n % batch == 0) drain(limiter);
    if (n % (3 * ids.size()) == 0)
      for (const auto& id : ids) benchmark::DoNotOptimize(limiter.stop_all(id));
    if (n % 1024 == 0) limiter.expire_due(clock.t);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_start_allowed)->Args({100, 1})->Args({10'000, 1})->Args({100, 64});

// Denied: one user at the limit (3 streams) asks again and again with new sessions.
void BM_start_denied(benchmark::State& state) {
  stream_limiter limiter(options());
  const auto ids = load_users(limiter, 1);
  fake_clock clock;
  for (std::uint64_t i = 0; i < 3; ++i)
    (void)limiter.start({id("fill", i), ids[0], "v01", id("f", i)},
                        clock.tick());
  drain(limiter);
  std::uint64_t n = 0;
  start_request r{"", ids[0], "v01", ""};
  for (auto _ : state) {
    r.request_id = id("r", n);
    r.session_id = id("s", n);
    auto decided = limiter.start(r, clock.tick());
    if (!decided || decided->v->allowed) state.SkipWithError("a start was not denied");
    drain(limiter);
    ++n;
    // Leases are 90 s and the clock moves 10 us a decision: renew them before they lapse.
    if (n % 1'000'000 == 0)
      for (std::uint64_t i = 0; i < 3; ++i)
        (void)limiter.start({id(id("refill", n) + "-", i), ids[0], "v01", id("f", i)}, clock.tick());
    if (n % 1024 == 0) limiter.expire_due(clock.t);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_start_denied);

// Session reuse: a retry or reload with a live sessionId renews that stream, takes no slot.
void BM_start_session_reuse(benchmark::State& state) {
  stream_limiter limiter(options());
  const auto ids = load_users(limiter, 1);
  fake_clock clock;
  std::uint64_t n = 0;
  start_request r{"", ids[0], "v01", "same-session"};
  for (auto _ : state) {
    r.request_id = id("r", n);
    auto decided = limiter.start(r, clock.tick());
    if (!decided || !decided->v->allowed) state.SkipWithError("a reuse was not allowed");
    drain(limiter);
    ++n;
    if (n % 1024 == 0) limiter.expire_due(clock.t);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_start_session_reuse);

}  // namespace

BENCHMARK_MAIN();
