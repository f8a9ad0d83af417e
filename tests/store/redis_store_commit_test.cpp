// The Redis store against a real redis-server and a real three-master Redis Cluster on free
// loopback ports (started per test case, their data in the test's temp dir), tested on the real
// thing (redis_store_support.hpp).
// Here: compare-and-commit between workers, and a load as committed.

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "redis_store_support.hpp"
#include "test_store.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/state_codec.hpp"
#include "worker/store/stream_changes.hpp"

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

namespace {

// A commit of `now` as the decider makes it: with the streams the core said it started, renewed
// and ended since the state was loaded.
user_commit delta_commit(core::user_state now, const std::vector<std::string>& started,
                         const std::vector<std::string>& renewed,
                         const std::vector<std::string>& ended) {
  user_commit c = commit_of(std::move(now));
  c.streams_changed = changes_of(started, renewed, ended, c.state.streams);
  REQUIRE(c.streams_changed.has_value());
  return c;
}

// The fields of a user's hash, by name.
std::map<std::string, std::string> hash_of(single_redis& redis, const std::string& user_id) {
  const auto all = redis.client()->command({"HGETALL", "{user:" + user_id + "}"});
  std::map<std::string, std::string> fields;
  for (std::size_t i = 0; i + 1 < reply_size(*all); i += 2)
    fields.emplace(reply_string(reply_at(*all, i)), reply_string(reply_at(*all, i + 1)));
  return fields;
}

// A start remembered as denied at `at` (the limit reached), under `request_id`.
core::remembered_start denied_start(std::string request_id, std::int64_t at) {
  return {std::move(request_id), "v1", "", at, false, false, "", 0, "limit_reached", 3, 3};
}

// Alice with these live streams, `seq` events after her creation.
core::user_state alice_with(std::vector<stream> streams, std::uint64_t seq) {
  core::user_state alice = plain_user("alice");
  alice.streams = std::move(streams);
  alice.seq = seq;
  return alice;
}

}  // namespace

TEST_CASE("a redis commit writes only the live streams that changed, and a load puts them back "
          "in the order they were made",
          "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  // Made in one batch (one time), then more in later ones: the order is the making's, not the
  // times' or the ids'.
  const core::user_state alice =
      alice_with({stream_of("alice", "s_z", 90'000), stream_of("alice", "s_a", 90'000)}, 2);
  REQUIRE(commit_one(*s, commit_of(alice)) == commit_status::committed);
  core::user_state loaded = load_one(*s, "alice");
  REQUIRE(loaded.streams == alice.streams);

  core::user_state next = loaded;
  next.streams.erase(next.streams.begin());                   // s_z stopped
  next.streams[0].expires_at_ms = 95'000;                     // s_a heart-beaten
  next.streams.push_back(stream_of("alice", "s_m", 90'000));  // two started in one batch
  next.streams.push_back(stream_of("alice", "s_b", 90'000));
  next.seq = 5;
  REQUIRE(commit_one(*s, delta_commit(next, {"s_m", "s_b"}, {"s_a"}, {"s_z"})) ==
          commit_status::committed);
  // Another worker's load, without any cache, sees exactly that.
  auto other = open_store(redis.seeds());
  const core::user_state reloaded = load_one(*other, "alice");
  CHECK(reloaded.streams == next.streams);
  CHECK(reloaded.version == 2);
  const auto fields = hash_of(redis, "alice");
  CHECK_FALSE(fields.contains("t:s_z"));
  CHECK_FALSE(fields.contains("e:s_z"));
  CHECK(fields.size() == 3 + 2 * 3);  // v, s, n and a field and a lease per live stream

  SECTION("a delta on a stale version changes nothing") {
    core::user_state stale = next;
    stale.streams.clear();
    CHECK(commit_one(*s, delta_commit(stale, {}, {}, {"s_z", "s_a"})) == commit_status::conflict);
    CHECK(load_one(*other, "alice").streams == next.streams);
  }
}

TEST_CASE("a redis user written by an older worker, with its streams inside its state, loads, and "
          "its next commit writes them apart",
          "[redis][integration]") {
  single_redis redis;
  const core::user_state old =
      alice_with({stream_of("alice", "s_1", 90'000), stream_of("alice", "s_2", 91'000)}, 2);
  REQUIRE(reply_integer(*redis.client()->command(
              {"HSET", "{user:alice}", "v", "7", "s", encode_state(old)})) == 2);
  auto s = open_store(redis.seeds());

  core::user_state loaded = load_one(*s, "alice");
  CHECK(loaded.streams == old.streams);
  CHECK(loaded.version == 7);
  // A commit that changed one stream only still writes both: the hash is written anew.
  core::user_state next = loaded;
  next.streams[1].expires_at_ms = 99'000;
  next.seq = 3;
  REQUIRE(commit_one(*s, delta_commit(next, {}, {"s_2"}, {})) == commit_status::committed);
  const auto fields = hash_of(redis, "alice");
  CHECK(fields.size() == 3 + 2 * 2);
  const auto state = decode_state(fields.at("s"), 8);
  REQUIRE(state.has_value());
  CHECK(state->streams.empty());
  CHECK(load_one(*open_store(redis.seeds()), "alice").streams == next.streams);
}

TEST_CASE(
    "a redis user's starts are a ring in its hash: each commit writes only its own, the "
    "oldest are overwritten, and a load gives back the newest in order",
    "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  REQUIRE(commit_one(*s, commit_of(plain_user("alice"))) == commit_status::committed);
  const std::int64_t now = store_now(*s);
  constexpr std::size_t ring = core::most_remembered_starts;
  constexpr std::size_t made = ring + 40;  // around the ring once, and 40 past it
  core::user_state alice = load_one(*s, "alice");
  std::vector<core::remembered_start> starts;
  for (std::size_t i = 0; i < made; ++i) {
    starts.push_back(denied_start("r-" + std::to_string(i), now));
    user_commit c = delta_commit(alice, {}, {}, {});
    c.new_starts = {starts.back()};
    REQUIRE(commit_one(*s, c) == commit_status::committed);
    ++alice.version;
  }

  const auto fields = hash_of(redis, "alice");
  CHECK(fields.at("n") == std::to_string(made));
  std::size_t start_fields = 0;
  for (const auto& [name, value] : fields) start_fields += name.starts_with("q:") ? 1 : 0;
  CHECK(start_fields == ring);
  CHECK(fields.at("q:0") == encode_start(starts[ring]));  // start 288 overwrote start 0

  const core::user_state loaded = load_one(*open_store(redis.seeds()), "alice");
  CHECK(loaded.version == alice.version);
  const std::vector<core::remembered_start> newest(
      starts.end() - static_cast<std::ptrdiff_t>(core::remembered_starts_per_user), starts.end());
  CHECK(loaded.starts == newest);

  // A ring that is not as the script leaves it is not ours: the load refuses it (503), rather
  // than forget a start the user made or replay one it did not.
  const auto raw = redis.client();
  SECTION("a ring that lacks a start it counts") {
    REQUIRE(reply_integer(*raw->command({"HDEL", "{user:alice}", "q:5"})) == 1);
  }
  SECTION("a start field outside the ring") {
    REQUIRE(reply_integer(*raw->command(
                {"HSET", "{user:alice}", "q:" + std::to_string(ring), fields.at("q:0")})) == 1);
  }
  SECTION("a start that is not one of ours") {
    REQUIRE(reply_integer(*raw->command({"HSET", "{user:alice}", "q:7", "garbage"})) == 0);
  }
  CHECK_THROWS_AS(open_store(redis.seeds())->load({"alice"}), store_unavailable);
}

TEST_CASE(
    "a redis worker that has not loaded a user's version cannot name its start fields: its "
    "commit is a conflict, and after a load it commits them after the stored ones",
    "[redis][integration]") {
  single_redis redis;
  auto first = open_store(redis.seeds());
  REQUIRE(commit_one(*first, commit_of(plain_user("alice"))) == commit_status::committed);
  const auto start_of = [now = store_now(*first)](const std::string& request_id) {
    return denied_start(request_id, now);
  };
  core::user_state alice = load_one(*first, "alice");
  user_commit made = delta_commit(alice, {}, {}, {});
  made.new_starts = {start_of("r-0"), start_of("r-1")};
  REQUIRE(commit_one(*first, made) == commit_status::committed);
  ++alice.version;

  // The state is right (same version), but this store never saw where the ring stands.
  auto second = open_store(redis.seeds());
  user_commit blind = delta_commit(alice, {}, {}, {});
  blind.new_starts = {start_of("r-2")};
  CHECK(commit_one(*second, blind) == commit_status::conflict);
  CHECK(hash_of(redis, "alice").at("n") == "2");

  const core::user_state reloaded = load_one(*second, "alice");
  REQUIRE(reloaded.version == alice.version);
  CHECK(commit_one(*second, blind) == commit_status::committed);
  const auto fields = hash_of(redis, "alice");
  CHECK(fields.at("n") == "3");
  CHECK(fields.at("q:2") == encode_start(start_of("r-2")));
  CHECK(fields.at("q:0") == encode_start(start_of("r-0")));
  CHECK(load_one(*first, "alice").starts ==
        std::vector<core::remembered_start>{start_of("r-0"), start_of("r-1"), start_of("r-2")});
}

}  // namespace streamgate::redis_test
