// The Redis store and the decider on a real three-master Redis Cluster with one master down
// (killed, or hanging with its connections open), on free loopback ports
// (redis_store_support.hpp). The cluster runs with cluster-require-full-coverage off, as a
// deployment that wants its other masters to serve does: then only that master's users and
// request ids are answered 503, every other user is decided as usual, and the master's users are
// served again once it is back (docs/design.md §8, "A Cluster master down").

#include <catch2/catch.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "decider_support.hpp"
#include "redis_store_support.hpp"
#include "test_store.hpp"
#include "wait.hpp"
#include "worker/store/redis/redis_keys.hpp"

namespace streamgate::redis_test {

namespace {

// A cluster whose masters serve while another is down, and the master to take down: not the one
// holding the store's clock (sg:dataset) unless a case says so.
struct outage {
  outage() {
    redis.cluster().configure("cluster-require-full-coverage", "no");
    clock_node = redis.cluster().owner_of(redis_slot_of(std::string(redis_detail::dataset_key)));
    down = (clock_node + 1) % it::redis_cluster::node_count;
  }

  // Killed, or hanging: each SECTION of the caller takes one.
  void take_down(bool hang) {
    if (hang)
      redis.cluster().pause(down);
    else
      redis.cluster().kill9(down);
    hanging = hang;
  }
  void bring_back() {
    if (hanging)
      redis.cluster().resume(down);
    else
      redis.cluster().restart(down);
  }

  cluster_redis redis;
  std::size_t clock_node = 0;
  std::size_t down = 0;
  bool hanging = false;
};

redis_store_options short_timeout() {
  redis_store_options options;
  options.timeout = std::chrono::milliseconds{500};
  return options;
}

}  // namespace

TEST_CASE("a cluster master down fails only the loads and commits of its own users and requests",
          "[redis][cluster][integration]") {
  outage o;
  auto s = open_store(o.redis.seeds(), short_timeout());
  const std::string up = user_on(o.redis.cluster(), o.clock_node);
  const std::string gone = user_on(o.redis.cluster(), o.down);
  const std::string request_up = request_on(o.redis.cluster(), o.clock_node);
  const std::string request_gone = request_on(o.redis.cluster(), o.down);
  s->seed(demo_catalog(), {plain_user(up), plain_user(gone)});
  const loaded_users before = s->load({up, gone});
  REQUIRE(before.unreachable_users.empty());

  SECTION("killed") { o.take_down(false); }
  SECTION("hanging") { o.take_down(true); }

  // Twice: while the master fails, and while the store leaves it alone.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const loaded_users loaded = s->load({up, gone}, {request_up, request_gone});
    CHECK(loaded.unreachable_users == std::vector<std::size_t>{1});
    CHECK(loaded.unreachable_requests == std::vector<std::size_t>{1});
    REQUIRE(loaded.states[0].has_value());
    CHECK_FALSE(loaded.states[1].has_value());
  }
  core::user_state renamed = *before.states[0];
  renamed.u.name = "renamed";
  // A user on a master that answers, whose start's request id lives on the master down.
  core::user_state with_start = renamed;
  with_start.u.name = "not renamed";
  CHECK(s->commit({commit_of(*before.states[1]), commit_of(with_start, {}, {}, {request_gone})}) ==
        std::vector<commit_status>{commit_status::unreachable, commit_status::unreachable});
  CHECK(s->commit({commit_of(*before.states[1]), commit_of(renamed, {}, {}, {request_up})}) ==
        std::vector<commit_status>{commit_status::unreachable, commit_status::committed});
  CHECK(load_one(*s, up).u.name == "renamed");
  CHECK(s->request_owner(request_up) == up);

  o.bring_back();
  // Served again once the store tries the master again (it left it alone for a moment).
  core::user_state back = *before.states[1];
  back.u.name = "back";
  REQUIRE(it::wait_until(
      [&] {
        const loaded_users loaded = s->load({gone});
        return loaded.unreachable_users.empty() &&
               commit_one(*s, commit_of(back)) == commit_status::committed;
      },
      std::chrono::seconds(30)));
  CHECK(load_one(*s, gone).u.name == "back");
}

TEST_CASE("with a cluster master down, a worker decides every other user's starts of a batch",
          "[redis][cluster][integration]") {
  outage o;
  auto s = open_store(o.redis.seeds(), short_timeout());
  seed(*s);
  std::vector<std::string> users;
  for (std::size_t n = 0; n < it::redis_cluster::node_count; ++n)
    users.push_back(user_on(o.redis.cluster(), n));
  {
    std::vector<request_body> creates;
    for (const std::string& u : users) {
      create_user_request c;
      c.id = u;
      c.name = "User " + u;
      creates.push_back(c);
    }
    decider setup(*s, test_rules());
    for (const reply& r : decide(setup, creates).replies) REQUIRE(r.status == outcome::created);
  }
  decider d(*s, test_rules());
  // Cached before the outage: their commits, not their loads, meet the master that is down.
  static_cast<void>(decide(
      d, {get_user_request{users[0]}, get_user_request{users[1]}, get_user_request{users[2]}}));

  SECTION("killed") { o.take_down(false); }
  SECTION("hanging") { o.take_down(true); }

  // Each start's request id on its user's master: one on the master down is refused with it.
  std::vector<request_body> starts;
  for (std::size_t n = 0; n < users.size(); ++n)
    starts.push_back(start_of(users[n], request_on(o.redis.cluster(), n)));
  const batch_result r = decide(d, starts);
  for (std::size_t n = 0; n < users.size(); ++n) {
    INFO("user " << users[n] << " on node " << n);
    CHECK(r.replies[n].status == (n == o.down ? outcome::unavailable : outcome::allowed));
  }
  // Only decisions that were committed are told.
  for (const published_event& e : r.events) CHECK(e.topic != users[o.down]);
  CHECK(r.events.size() == users.size() - 1);

  o.bring_back();
  REQUIRE(it::wait_until(
      [&] {
        return decide(d, {start_of(users[o.down], request_on(o.redis.cluster(), o.down))})
                   .replies[0]
                   .status == outcome::allowed;
      },
      std::chrono::seconds(30)));
}

TEST_CASE("with the cluster master of the store's clock down, loads read another master's clock",
          "[redis][cluster][integration]") {
  outage o;
  o.down = o.clock_node;
  auto s = open_store(o.redis.seeds(), short_timeout());
  const std::string elsewhere = user_on(o.redis.cluster(), (o.clock_node + 1) % 3);
  s->seed(demo_catalog(), {plain_user(elsewhere)});
  const std::int64_t before = store_now(*s);

  SECTION("killed") { o.take_down(false); }
  SECTION("hanging") { o.take_down(true); }

  // Twice: while the master fails, and while the store leaves it alone.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const loaded_users loaded = s->load({elsewhere});
    CHECK(loaded.unreachable_users.empty());
    REQUIRE(loaded.states[0].has_value());
    CHECK(loaded.now_ms >= before);
    core::user_state renamed = *loaded.states[0];
    renamed.u.name = "renamed " + std::to_string(attempt);
    CHECK(commit_one(*s, commit_of(renamed)) == commit_status::committed);
  }
  o.bring_back();
}

}  // namespace streamgate::redis_test
