// The Redis store against a real redis-server and a real three-master Redis Cluster on free
// loopback ports (started per test case, their data in the test's temp dir), tested on the real
// thing (redis_store_support.hpp).
// Here: compare-and-commit between workers, and a load as committed.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "redis_store_support.hpp"
#include "test_store.hpp"
#include "worker/store/redis/redis_store.hpp"

namespace streamgate::redis_test {

TEST_CASE("two redis workers committing one user from the same loaded version: exactly one commits",
          "[redis][integration]") {
  single_redis redis;
  auto first = open_store(redis.seeds());
  auto second = open_store(redis.seeds());
  REQUIRE(commit_one(*first, commit_of(plain_user("alice"))) == commit_status::committed);

  core::user_state a = load_one(*first, "alice");
  core::user_state b = load_one(*second, "alice");
  REQUIRE(a.version == 1);
  REQUIRE(b.version == 1);
  const std::int64_t now = store_now(*first);
  a.streams.push_back(stream_of("alice", "s_a", now + 90'000));
  a.seq = 1;
  b.streams.push_back(stream_of("alice", "s_b", now + 90'000));
  b.seq = 1;

  CHECK(commit_one(*first, commit_of(a, now + 90'000)) == commit_status::committed);
  CHECK(commit_one(*second, commit_of(b, now + 90'000)) == commit_status::conflict);

  // The loser reloads and finds the winner's state at the next version.
  const core::user_state stored = load_one(*second, "alice");
  CHECK(stored.version == 2);
  REQUIRE(stored.streams.size() == 1);
  CHECK(stored.streams[0].stream_id == "s_a");
  CHECK(stored.seq == 1);
}

TEST_CASE("redis workers racing on one user lose no commit and commit none twice",
          "[redis][integration]") {
  single_redis redis;
  constexpr int workers = 4;
  constexpr int increments = 40;
  {
    auto seeding = open_store(redis.seeds());
    REQUIRE(commit_one(*seeding, commit_of(plain_user("alice"))) == commit_status::committed);
  }
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&] {
      auto s = open_store(redis.seeds());
      for (int done = 0; done < increments;) {
        auto loaded = s->load({"alice"});
        core::user_state state = *loaded.states[0];
        ++state.seq;  // a decision on the loaded state: only valid if nobody committed since
        if (s->commit({commit_of(state)})[0] == commit_status::committed) {
          ++done;
        } else {
          ++conflicts;
        }
      }
    });
  for (auto& t : threads) t.join();
  auto s = open_store(redis.seeds());
  const core::user_state final_state = load_one(*s, "alice");
  CHECK(final_state.seq == workers * increments);
  CHECK(final_state.version == workers * increments + 1);
  INFO("conflicts: " << conflicts.load());
}

TEST_CASE("a new redis user created twice from nothing conflicts once", "[redis][integration]") {
  single_redis redis;
  auto first = open_store(redis.seeds());
  auto second = open_store(redis.seeds());
  auto loaded = second->load({"bob"});
  REQUIRE(loaded.states.size() == 1);
  CHECK_FALSE(loaded.states[0].has_value());

  core::user_state by_first = plain_user("bob");
  core::user_state by_second = plain_user("bob");
  by_second.u.name = "Robert";
  CHECK(commit_one(*first, commit_of(by_first)) == commit_status::committed);
  CHECK(commit_one(*second, commit_of(by_second)) == commit_status::conflict);
  const core::user_state stored = load_one(*second, "bob");
  CHECK(stored.u.name == "User bob");
  CHECK(stored.version == 1);
  CHECK(second->user_ids() == std::vector<std::string>{"bob"});
}

TEST_CASE("a redis user's load gives the store's clock and the state as committed",
          "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  core::user_state alice = plain_user("alice");
  alice.u.max_streams = 2;
  alice.u.policy_override = policy::monitor;
  alice.u.plan = "premium";
  alice.streams.push_back(stream_of("alice", "s_1", wall + 90'000));
  alice.starts.push_back(
      {"r1", "v1", "device-1", wall, true, false, "s_1", wall + 90'000, "", 1, 2});
  alice.seq = 7;
  REQUIRE(commit_one(*s, commit_of(alice, wall + 90'000, {}, {"r1"})) == commit_status::committed);

  const loaded_users loaded = s->load({"alice", "nobody"});
  CHECK(std::abs(loaded.now_ms - wall) < 5'000);
  REQUIRE(loaded.states.size() == 2);
  REQUIRE(loaded.states[0].has_value());
  alice.version = 1;
  CHECK(*loaded.states[0] == alice);
  CHECK_FALSE(loaded.states[1].has_value());
  CHECK_FALSE(s->exclusive());
}

}  // namespace streamgate::redis_test
