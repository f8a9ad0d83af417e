// Decisions of the decision core alone (no ZeroMQ, no store, no JSON): the ceiling of one worker
// thread. Time is injected; every decision advances it by 10 us.

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "worker/core/decisions.hpp"

namespace {

using namespace streamgate;

// prefix + n, appended rather than `"r" + std::to_string(n)`: GCC 12 at -O3 reports a false
// -Wrestrict on operator+(const char*, std::string&&).
std::string id(std::string prefix, std::uint64_t n) {
  prefix += std::to_string(n);
  return prefix;
}

core::user_state new_user(const core::rules& rules) {
  create_user_request request{"bench-u", "Bench", std::nullopt, std::nullopt, std::nullopt,
                              std::nullopt};
  return core::create_user(request, "bench-u", rules).value();
}

// Allowed then stopped: a start with a fresh session and request id, then a stop of it; the
// user's remembered starts stay at their cap, as under steady load.
void BM_start_then_stop(benchmark::State& state) {
  const core::rules rules;
  core::user_state user = new_user(rules);
  core::effects out;
  std::int64_t now_ms = 1'800'000'000'000;
  std::uint64_t n = 0;
  start_request r{"", "bench-u", "v01", ""};
  for (auto _ : state) {
    r.request_id = id("r", n);
    r.session_id = id("s", n);
    const std::string stream_id = id("st", n);
    auto decided = core::start(user, r, true, stream_id, now_ms += 10, rules, out);
    if (!decided.v.allowed) state.SkipWithError("a start was not allowed");
    benchmark::DoNotOptimize(core::stop(user, stream_id, now_ms, rules, out));
    out.clear();
    ++n;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_start_then_stop);

// Denied: one user at the limit (3 streams) asks again and again with new sessions.
void BM_start_denied(benchmark::State& state) {
  const core::rules rules;
  core::user_state user = new_user(rules);
  core::effects out;
  std::int64_t now_ms = 1'800'000'000'000;
  for (std::uint64_t i = 0; i < 3; ++i)
    core::start(user, {id("fill", i), "bench-u", "v01", id("f", i)}, true, id("st", i), now_ms,
                rules, out);
  std::uint64_t n = 0;
  start_request r{"", "bench-u", "v01", ""};
  for (auto _ : state) {
    r.request_id = id("r", n);
    r.session_id = id("s", n);
    // 10 us a decision: the 90 s leases outlive any run.
    auto decided = core::start(user, r, true, "unused", now_ms += 0, rules, out);
    if (decided.v.allowed) state.SkipWithError("a start was not denied");
    out.clear();
    ++n;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(n));
}
BENCHMARK(BM_start_denied);

}  // namespace

BENCHMARK_MAIN();
