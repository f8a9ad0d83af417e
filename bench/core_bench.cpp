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

// Allowed starts spread over 1,000 users who never stop, as `bench/run.sh`'s `?wait=true` run
// makes them (maxStreams 1000, 600 s leases, random users, fresh sessions of its length): each
// user holds about 200 live streams and its full request memory, and their states together
// outgrow the CPU's caches, so a pass over one user's lists is memory traffic.
void BM_start_many_streams(benchmark::State& state) {
  constexpr std::size_t users = 1000;
  constexpr std::uint64_t streams_per_user = 200;
  core::rules rules;
  rules.lease_ms = 600'000;
  std::vector<core::user_state> all;
  for (std::size_t u = 0; u < users; ++u) {
    create_user_request request{id("bench-u", u), "Bench",      1000,
                                std::nullopt,     std::nullopt, std::nullopt};
    all.push_back(core::create_user(request, *request.id, rules).value());
  }
  core::effects out;
  std::int64_t now_ms = 1'800'000'000'000;
  std::uint64_t n = 0;
  start_request r{"", "", "v01", ""};
  const auto start_one = [&](core::user_state& user) {
    r.request_id = id("r_", 1'000'000'000'000 + n);  // 15 characters, as the api's
    r.user_id = user.u.id;
    r.session_id = id("b6f3a2c1d4e5f-", n);  // as bench/start_wait.lua's
    auto decided =
        core::start(user, r, true, id("s_0000000000000000000", n), now_ms += 0, rules, out);
    out.clear();
    ++n;
    return decided.v.allowed;
  };
  for (std::uint64_t k = 0; k < streams_per_user; ++k)
    for (core::user_state& user : all) start_one(user);
  std::uint64_t measured = 0;
  std::uint64_t next = 0x9e3779b97f4a7c15;  // a fixed xorshift sequence of users
  for (auto _ : state) {
    next ^= next << 13;
    next ^= next >> 7;
    next ^= next << 17;
    if (!start_one(all[next % users])) state.SkipWithError("a start was not allowed");
    ++measured;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(measured));
}
BENCHMARK(BM_start_many_streams)->Iterations(200'000);

}  // namespace

BENCHMARK_MAIN();
