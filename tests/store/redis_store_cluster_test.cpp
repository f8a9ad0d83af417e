// The Redis store against a real redis-server and a real three-master Redis Cluster on free
// loopback ports (started per test case, their data in the test's temp dir), tested on the real
// thing (redis_store_support.hpp).
// Here: the same store on a three-master Redis Cluster.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "redis_store_support.hpp"
#include "test_store.hpp"
#include "worker/store/redis/redis_keys.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/redis/router.hpp"

namespace streamgate::redis_test {

namespace {

// Enough users that every master owns some of them.
std::vector<std::string> many_users() {
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i) ids.push_back("user" + std::to_string(i));
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace

TEST_CASE("the redis store commits users spread over a cluster's masters",
          "[redis][cluster][integration]") {
  cluster_redis redis;
  auto first = open_store(redis.seeds());
  auto second = open_store(redis.seeds());
  CHECK(first->dataset_id() == second->dataset_id());
  const std::vector<std::string> ids = many_users();
  std::vector<core::user_state> users;
  for (const auto& id : ids) users.push_back(plain_user(id));
  first->seed(demo_catalog(), users);
  CHECK(second->seeded());
  CHECK(second->user_ids() == ids);
  CHECK(second->load_catalog().plans == demo_catalog().plans);

  // Every user from the same loaded version, by two workers: the first commits each, the second
  // conflicts on each.
  const loaded_users loaded = first->load(ids);
  REQUIRE(loaded.states.size() == ids.size());
  std::vector<user_commit> commits;
  for (const auto& state : loaded.states) {
    REQUIRE(state.has_value());
    CHECK(state->version == 1);
    core::user_state next = *state;
    next.streams.push_back(stream_of(next.u.id, "s_" + next.u.id, loaded.now_ms + 1'000));
    commits.push_back(commit_of(next, loaded.now_ms + 1'000,
                                {audit_line(next.u.id, loaded.now_ms, "allowed", "r_" + next.u.id)},
                                {"r_" + next.u.id}));
  }
  const auto won = first->commit(commits);
  const auto lost = second->commit(commits);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    CAPTURE(ids[i]);
    CHECK(won[i] == commit_status::committed);
    CHECK(lost[i] == commit_status::conflict);
    CHECK(second->request_owner("r_" + ids[i]) == std::optional<std::string>(ids[i]));
    CHECK(second->recent_audit(ids[i], 5).size() == 1);
  }
  for (const auto& state : second->load(ids).states) CHECK(state->version == 2);

  // The per-slot lease indexes of every master are scanned.
  CHECK(due_in_full_pass(*second, loaded.now_ms + 999).empty());
  const std::set<std::string> due = due_in_full_pass(*second, loaded.now_ms + 1'000);
  CHECK(due == std::set<std::string>(ids.begin(), ids.end()));
}

TEST_CASE("a cluster whose masters lost their scripts gets the commit script again",
          "[redis][cluster][integration]") {
  cluster_redis redis;
  auto s = open_store(redis.seeds());
  const std::vector<std::string> ids = many_users();
  std::vector<core::user_state> users;
  for (const auto& id : ids) users.push_back(plain_user(id));
  s->seed(demo_catalog(), users);
  for (std::size_t node = 0; node < it::redis_cluster::node_count; ++node)
    REQUIRE(reply_string(*redis.client(node)->command({"SCRIPT", "FLUSH"})) == "OK");

  std::vector<user_commit> commits;
  for (auto& state : s->load(ids).states) {
    state->seq = 1;
    commits.push_back(commit_of(*state));
  }
  for (const auto answer : s->commit(commits)) CHECK(answer == commit_status::committed);
}

TEST_CASE("a cluster master killed and restarted keeps what it acknowledged",
          "[redis][cluster][integration]") {
  cluster_redis redis;
  auto s = open_store(redis.seeds());
  const std::vector<std::string> ids = many_users();
  std::vector<core::user_state> users;
  for (const auto& id : ids) users.push_back(plain_user(id));
  s->seed(demo_catalog(), users);

  redis.cluster().kill9(1);
  // Users on the dead master are not loaded, and said to be out of reach (not absent); the others
  // are (redis_store_cluster_outage_test.cpp).
  const loaded_users during = s->load(ids);
  CHECK_FALSE(during.unreachable_users.empty());
  CHECK(during.unreachable_users.size() < ids.size());
  for (const std::size_t i : during.unreachable_users) CHECK_FALSE(during.states[i].has_value());
  redis.cluster().restart(1);

  const loaded_users loaded = after_reconnect([&] { return s->load(ids); });
  std::vector<user_commit> commits;
  for (const auto& state : loaded.states) {
    REQUIRE(state.has_value());
    commits.push_back(commit_of(*state));
  }
  // The restarted master has no scripts any more.
  // The connections are sound again (the load went through): a retried commit could only
  // conflict with its own first attempt, so it is not retried here.
  for (const auto answer : s->commit(commits)) CHECK(answer == commit_status::committed);
  CHECK(after_reconnect([&] { return s->seeded(); }));
}

TEST_CASE("a cluster master restarted without its data is noticed, naming it",
          "[redis][cluster][integration]") {
  cluster_redis redis;
  auto s = open_store(redis.seeds());
  std::vector<core::user_state> users;
  for (const auto& id : many_users()) users.push_back(plain_user(id));
  s->seed(demo_catalog(), users);
  REQUIRE(s->seeded());  // the first look writes every slot's marker
  REQUIRE(s->seeded());

  SECTION("kept data: still seeded after a restart") {
    redis.cluster().kill9(1);
    redis.cluster().restart(1);
    CHECK(after_reconnect([&] { return s->seeded(); }));
  }
  SECTION("lost data (its AOF gone): the store is lost, to this worker and to a new one") {
    redis.cluster().kill9(1);
    std::filesystem::remove_all(redis.cluster().dir() / "node-1" / "appendonlydir");
    redis.cluster().restart(1);
    const std::string node = "127.0.0.1:" + std::to_string(redis.cluster().port(1));
    CHECK_THROWS_WITH(after_reconnect([&] { return s->seeded(); }),
                      Catch::Contains("redis " + node + " holds no data of the dataset"));
    // A worker opening it now finds it unseeded (when the lost master held the dataset's id, it
    // makes another, which sg:seeded does not name) or lost: either way it is not served.
    auto another = open_store(redis.seeds());
    bool refused = false;
    try {
      refused = !another->seeded();
    } catch (const store_lost&) {
      refused = true;
    }
    CHECK(refused);
  }
}

TEST_CASE(
    "a commit after a slot moved behind the store's back reaches its new owner, and the old "
    "one writes nothing of it",
    "[redis][cluster][integration]") {
  // As a reshard does while workers run: the commit script's call for the moved user's slot
  // goes to the old owner, which answers MOVED; another user of that master commits beside it.
  cluster_redis redis;
  auto s = open_store(redis.seeds());
  const std::vector<std::string> ids = many_users();
  std::optional<std::pair<std::string, std::string>> pair;  // two users of one master
  for (std::size_t i = 0; i < ids.size() && !pair; ++i)
    for (std::size_t j = i + 1; j < ids.size() && !pair; ++j) {
      const auto a = redis_slot_of(redis_detail::user_key(ids[i]));
      const auto b = redis_slot_of(redis_detail::user_key(ids[j]));
      if (a != b && redis.cluster().owner_of(a) == redis.cluster().owner_of(b))
        pair.emplace(ids[i], ids[j]);
    }
  REQUIRE(pair.has_value());
  const auto& [moving, staying] = *pair;
  s->seed(demo_catalog(), {plain_user(moving), plain_user(staying)});
  const loaded_users loaded = s->load({moving, staying});

  const std::uint16_t slot = redis_slot_of(redis_detail::user_key(moving));
  const std::size_t from = redis.cluster().owner_of(slot);
  redis.cluster().move_slot(slot, (from + 1) % it::redis_cluster::node_count);

  std::vector<user_commit> commits;
  for (const auto& state : loaded.states) {
    REQUIRE(state.has_value());
    core::user_state next = *state;
    next.streams.push_back(stream_of(next.u.id, "s_" + next.u.id, loaded.now_ms + 1'000));
    commits.push_back(commit_of(next, loaded.now_ms + 1'000));
  }
  CHECK(s->commit(commits) ==
        std::vector<commit_status>{commit_status::committed, commit_status::committed});
  // The old owner holds nothing of the slot.
  CHECK(reply_integer(*redis.client(from)->command(
            {"CLUSTER", "COUNTKEYSINSLOT", std::to_string(slot)})) == 0);
  const loaded_users after = open_store(redis.seeds())->load({moving, staying});
  for (std::size_t i = 0; i < 2; ++i) {
    REQUIRE(after.states[i].has_value());
    CHECK(after.states[i]->version == 2);
    CHECK(after.states[i]->streams == commits[i].state.streams);
  }
}

}  // namespace streamgate::redis_test
