// The Redis store against a real redis-server and a real three-master Redis Cluster on free
// loopback ports (started per test case, their data in the test's temp dir), tested on the real
// thing (redis_store_support.hpp).
// Here: the audit trail, the lease index and the request index.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "redis_store_support.hpp"
#include "test_store.hpp"
#include "wait.hpp"
#include "worker/store/redis/redis_keys.hpp"
#include "worker/store/redis/redis_store.hpp"

namespace streamgate::redis_test {

using namespace std::chrono_literals;

namespace {

bool same_audit(const audit_entry& a, const audit_entry& b) {
  return a.user_id == b.user_id && a.at_ms == b.at_ms && a.type == b.type &&
         a.stream_id == b.stream_id && a.request_id == b.request_id && a.video_id == b.video_id &&
         a.reason == b.reason;
}

}  // namespace

TEST_CASE("a redis user's audit is trimmed to its cap and read newest first",
          "[redis][integration]") {
  single_redis redis;
  redis_store_options options;
  options.audit_cap = 5;
  auto s = open_store(redis.seeds(), options);
  core::user_state alice = plain_user("alice");
  REQUIRE(commit_one(*s, commit_of(alice, {},
                                   {audit_line("alice", 1, "allowed", "r1"),
                                    audit_line("alice", 2, "denied", "r2")})) ==
          commit_status::committed);
  alice.version = 1;
  audit_entry full = audit_line("alice", 3, "evicted");
  full.stream_id = "s_1";
  full.video_id = "v1";
  full.reason = "";
  std::vector<audit_entry> more{full};
  for (int at = 4; at <= 9; ++at) more.push_back(audit_line("alice", at, "stopped"));
  REQUIRE(commit_one(*s, commit_of(alice, {}, more)) == commit_status::committed);

  const std::vector<audit_entry> all = s->recent_audit("alice", 100);
  REQUIRE(all.size() == 5);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CAPTURE(i);
    CHECK(all[i].at_ms == static_cast<std::int64_t>(9 - i));
    CHECK(all[i].user_id == "alice");
  }
  const std::vector<audit_entry> two = s->recent_audit("alice", 2);
  REQUIRE(two.size() == 2);
  CHECK(two[0].at_ms == 9);
  CHECK(two[1].at_ms == 8);
  CHECK(s->recent_audit("alice", 0).empty());
  CHECK(s->recent_audit("nobody", 10).empty());

  SECTION("every field of a line comes back as written") {
    options.audit_cap = 1000;
    auto roomy = open_store(redis.seeds(), options);
    core::user_state bob = plain_user("bob");
    audit_entry line = audit_line("bob", 1'700'000'000'123, "ended", "r_9");
    line.stream_id = "s_9";
    line.video_id = "v2";
    line.reason = "evicted";
    REQUIRE(commit_one(*roomy, commit_of(bob, {}, {line})) == commit_status::committed);
    const auto read = roomy->recent_audit("bob", 10);
    REQUIRE(read.size() == 1);
    CHECK(same_audit(read[0], line));
  }
  SECTION("a conflicting commit appends no line") {
    core::user_state stale = plain_user("alice");  // version 0: stale
    CHECK(commit_one(*s, commit_of(stale, {}, {audit_line("alice", 99, "allowed")})) ==
          commit_status::conflict);
    CHECK(s->recent_audit("alice", 1)[0].at_ms == 9);
  }
}

TEST_CASE("the redis lease index names a user once its lease is due, and not before",
          "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  const std::int64_t now = store_now(*s);
  core::user_state alice = plain_user("alice");
  alice.streams.push_back(stream_of("alice", "s_1", now + 1'000));
  REQUIRE(commit_one(*s, commit_of(alice, now + 1'000)) == commit_status::committed);

  CHECK(due_in_full_pass(*s, now).empty());
  CHECK(due_in_full_pass(*s, now + 999).empty());
  CHECK(due_in_full_pass(*s, now + 1'000) == std::set<std::string>{"alice"});

  SECTION("a renewed lease moves the entry") {
    alice.version = 1;
    alice.streams[0].expires_at_ms = now + 5'000;
    REQUIRE(commit_one(*s, commit_of(alice, now + 5'000)) == commit_status::committed);
    CHECK(due_in_full_pass(*s, now + 1'000).empty());
    CHECK(due_in_full_pass(*s, now + 5'000) == std::set<std::string>{"alice"});
  }
  SECTION("a user without live streams leaves the index") {
    alice.version = 1;
    alice.streams.clear();
    REQUIRE(commit_one(*s, commit_of(alice)) == commit_status::committed);
    CHECK(due_in_full_pass(*s, now + 100'000).empty());
  }
  SECTION("a conflicting commit leaves the index as it was") {
    core::user_state stale = alice;  // version 0: stale
    CHECK(commit_one(*s, commit_of(stale)) == commit_status::conflict);
    CHECK(due_in_full_pass(*s, now + 1'000) == std::set<std::string>{"alice"});
  }
  SECTION("at most `max` users per call, the others in the calls after") {
    for (int i = 0; i < 20; ++i) {
      const std::string id = "user" + std::to_string(i);
      core::user_state u = plain_user(id);
      u.streams.push_back(stream_of(id, "s_" + id, now + 10));
      REQUIRE(commit_one(*s, commit_of(u, now + 10)) == commit_status::committed);
    }
    std::set<std::string> found;
    std::size_t calls = 0;
    while (found.size() < 21 && calls < 200) {
      const auto due = s->due_users(now + 1'000, 3);
      CHECK(due.size() <= 3);
      found.insert(due.begin(), due.end());
      ++calls;
    }
    CHECK(found.size() == 21);
  }
}

TEST_CASE("a redis request id names the user who decided it while it is remembered",
          "[redis][integration]") {
  single_redis redis;
  redis_store_options options;
  options.request_memory_ms = 300;
  auto s = open_store(redis.seeds(), options);
  REQUIRE(commit_one(*s, commit_of(plain_user("alice"), {}, {}, {"r1", "r2"})) ==
          commit_status::committed);
  CHECK(s->request_owner("r1") == std::optional<std::string>("alice"));
  CHECK(s->request_owner("r2") == std::optional<std::string>("alice"));
  CHECK_FALSE(s->request_owner("r3").has_value());
  // Forgotten with the request memory.
  CHECK(it::wait_until([&] { return !s->request_owner("r1").has_value(); }, 5s));
}

TEST_CASE(
    "a redis request id is a field of its shard's hash for the generation it was decided in, "
    "which expires a memory after the generation ends; of two claims, the older generation's "
    "names the owner",
    "[redis][integration]") {
  single_redis redis;
  redis_store_options options;
  options.request_memory_ms = 60'000;
  auto s = open_store(redis.seeds(), options);
  const std::int64_t now = store_now(*s);
  REQUIRE(commit_one(*s, commit_of(plain_user("alice"), {}, {}, {"r1"})) ==
          commit_status::committed);

  namespace keys = redis_detail;
  const std::size_t shard = keys::request_shard_of("r1");
  const std::int64_t generation = keys::request_generation(now, shard, options.request_memory_ms);
  const auto raw = redis.client();
  // Committed within a second of `now`: in its generation or, at its very end, the next.
  std::int64_t found = generation;
  if (reply_is_nil(*raw->command({"HGET", keys::request_index_key(shard, found), "r1"}))) ++found;
  const std::string key = keys::request_index_key(shard, found);
  CHECK(reply_string(*raw->command({"HGET", key, "r1"})) == "alice");
  const std::int64_t expiry =
      keys::request_generation_expiry_ms(found, shard, options.request_memory_ms);
  CHECK(reply_integer(*raw->command({"PEXPIRETIME", key})) == expiry);
  // A request decided at the generation's last moment is remembered a whole memory.
  const std::int64_t last_moment = (found + 1) * options.request_memory_ms -
                                   keys::request_offset_ms(shard, options.request_memory_ms) - 1;
  CHECK(keys::request_generation(last_moment, shard, options.request_memory_ms) == found);
  CHECK(expiry - last_moment > options.request_memory_ms);

  // Another worker claimed r1 for bob in the generation before (across its end, at once).
  REQUIRE(reply_integer(*raw->command(
              {"HSET", keys::request_index_key(shard, found - 1), "r1", "bob"})) == 1);
  CHECK(s->request_owner("r1") == std::optional<std::string>("bob"));
  CHECK(s->load({}, {"r1"}).owners == std::vector<std::optional<std::string>>{"bob"});
}

TEST_CASE("a single redis server's per-slot lease indexes and live-stream counts, as an older "
          "worker left them, are merged into one shard once",
          "[redis][integration]") {
  single_redis redis;
  const auto raw = redis.client();
  using redis_detail::active_key;
  using redis_detail::lease_index_key;
  REQUIRE(reply_integer(*raw->command({"ZADD", lease_index_key(0), "500", "carol"})) == 1);
  REQUIRE(reply_integer(*raw->command({"ZADD", lease_index_key(5), "1000", "alice"})) == 1);
  REQUIRE(reply_integer(*raw->command({"ZADD", lease_index_key(9000), "2000", "bob"})) == 1);
  for (const auto& [slot, count] : {std::pair{0, "1"}, {5, "2"}, {9000, "3"}})
    REQUIRE(reply_string(*raw->command({"SET", active_key(slot), count})) == "OK");
  // An older store has its dataset: a store without one is new and has nothing to merge.
  REQUIRE(reply_string(*raw->command({"SET", std::string(redis_detail::dataset_key), "d_old"})) ==
          "OK");

  auto first = open_store(redis.seeds());
  CHECK(first->due_users(1'999, 100) == std::vector<std::string>{"carol", "alice"});
  CHECK(first->active_streams() == std::optional<std::uint64_t>(6));
  for (const std::size_t slot : {5, 9000}) {
    CHECK(reply_integer(*raw->command({"EXISTS", lease_index_key(slot)})) == 0);
    CHECK(reply_integer(*raw->command({"EXISTS", active_key(slot)})) == 0);
  }
  // A second worker opening finds the marker and merges nothing again.
  auto second = open_store(redis.seeds());
  CHECK(second->active_streams() == std::optional<std::uint64_t>(6));
  core::user_state dave = plain_user("dave");
  dave.streams.push_back(stream_of("dave", "s_1", 1'500));
  user_commit started = commit_of(dave, 1'500);
  started.streams_delta = 1;
  REQUIRE(commit_one(*second, std::move(started)) == commit_status::committed);
  CHECK(first->active_streams() == std::optional<std::uint64_t>(7));
  CHECK(first->due_users(1'999, 100) == std::vector<std::string>{"carol", "alice", "dave"});
}

}  // namespace streamgate::redis_test
