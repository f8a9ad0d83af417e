// The aids the core keeps beside a user's lists (worker/core/user_state.hpp, list_aids) change
// no decision: every decision is checked against the same one made on a state without aids, as
// a store loads it, which passes over every entry.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "core_test_support.hpp"

namespace streamgate::core {

using namespace test_support;

namespace {

// One decision of the script, made on `state`; `out` gets its effects, the line its outcome.
std::string decide_step(user_state& state, int op, int pick, std::int64_t now, const rules& r,
                        effects& out, int& made) {
  const std::string session = "tv" + n(pick % 5);
  const std::string stream_id =
      state.streams.empty()
          ? "none"
          : state.streams[static_cast<std::size_t>(pick) % state.streams.size()].stream_id;
  switch (op) {
    case 0:
    case 1:
    case 2: {
      // Request ids repeat (replays), sessions repeat (renewals), some are left empty.
      const start_result s = start(state, start_of("r" + n(pick % 40), op == 2 ? "" : session),
                                   true, "s" + n(++made), now, r, out);
      return describe(event{s.v, 0}) + (s.replayed ? " replayed" : "");
    }
    case 3: {
      const auto renewed = heartbeat(state, stream_id, now, r, out);
      return renewed ? "renewed " + std::to_string(*renewed) : "unknown";
    }
    case 4:
      return stop(state, stream_id, now, r, out) ? "stopped" : "unknown";
    case 5:
      return "stopped all " + n(stop_all(state, now, r, out));
    default:
      expire(state, now, r, out);
      return "expired";
  }
}

}  // namespace

TEST_CASE("the core's list aids change no decision, whatever the clock does", "[core][aids]") {
  rules r = test_rules();
  r.lease_ms = 3'000;
  r.request_memory_ms = 20'000;
  r.max_remembered_starts = 16;
  const std::optional<policy> rule =
      GENERATE(std::optional<policy>{}, policy::evict_oldest, policy::monitor);
  user_state aided = state_of("alice", 3, rule);
  user_state plain = aided;
  std::mt19937 random(7);
  std::int64_t now = t0;
  int made_aided = 0;
  int made_plain = 0;
  for (int step = 0; step < 5'000; ++step) {
    // Mostly forward, now and then a step back of the clock.
    now += static_cast<std::int64_t>(random() % 1'200) - (random() % 20 == 0 ? 6'000 : 0);
    const int op = static_cast<int>(random() % 8);
    const int pick = static_cast<int>(random() % 1'000);
    plain.aids = {};
    effects aided_out;
    effects plain_out;
    const std::string aided_line = decide_step(aided, op, pick, now, r, aided_out, made_aided);
    const std::string plain_line = decide_step(plain, op, pick, now, r, plain_out, made_plain);
    INFO("step " << step << ", op " << op << ", at " << now - t0);
    REQUIRE(aided_line == plain_line);
    REQUIRE(describe_all(aided_out.events) == describe_all(plain_out.events));
    REQUIRE(describe_all(aided_out.audit) == describe_all(plain_out.audit));
    REQUIRE(aided.streams == plain.streams);
    REQUIRE(aided.starts == plain.starts);
  }
}

TEST_CASE("a lease a clock that stepped back renewed to end sooner lapses when it ends",
          "[core][aids]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 2, r);
  effects out;
  REQUIRE(heartbeat(state, "s1", t0 - 10'000, r, out).value() == t0 - 10'000 + lease);
  expire(state, t0 - 10'000 + lease, r, out);
  CHECK(ended_ids(out) == std::vector<std::string>{"s1"});
  CHECK(ids_of(state.streams) == std::vector<std::string>{"s2"});
}

TEST_CASE("a start a clock that stepped back decided earlier is forgotten when its window ends",
          "[core][aids]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  effects out;
  start(state, start_of("r1"), true, "s1", t0, r, out);
  start(state, start_of("r2"), true, "s2", t0 - 5'000, r, out);
  expire(state, t0 - 5'000 + memory, r, out);
  CHECK(request_ids_of(state.starts) == std::vector<std::string>{"r1"});
  CHECK(find_start(state, "r2") == nullptr);
  REQUIRE(find_start(state, "r1") != nullptr);
}

TEST_CASE("two states are equal whatever their aids", "[core][aids]") {
  const rules r = test_rules();
  user_state state = state_of("alice");
  fill(state, 3, r, t0, {"tv", "phone", "laptop"});
  REQUIRE(find_start(state, "r2") != nullptr);
  user_state loaded = state;
  loaded.aids = {};
  CHECK(loaded == state);
}

}  // namespace streamgate::core
