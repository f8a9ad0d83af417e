// The Redis store on a real three-master Redis Cluster whose master has a real replica, on free
// loopback ports (redis_store_support.hpp).
// Here: a commit to a master counts as done only once its replica holds it, while the other
// masters' users commit as before; and when the replica takes over from its dead master, the
// store follows the new slot map and finds every commit it acknowledged (docs/design.md §8).

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>

#include "redis_store_support.hpp"
#include "test_store.hpp"
#include "wait.hpp"
#include "worker/store/redis/redis_keys.hpp"
#include "worker/store/redis/redis_store.hpp"

namespace streamgate::redis_test {

namespace {

constexpr std::size_t master = 1;  // the one given a replica
constexpr std::size_t other = 2;

}  // namespace

TEST_CASE("a cluster master's replica that takes over holds every commit the store acknowledged",
          "[redis][cluster][replica][integration]") {
  cluster_redis redis;
  const std::size_t replica = redis.cluster().add_replica(master);
  redis_store_options options;
  options.timeout = std::chrono::milliseconds{1000};
  // Opening writes (the dataset id), which the replica may have to acknowledge.
  auto store = after_reconnect([&] { return open_store(redis.seeds(), options); });

  // A user on the master with the replica and one on another master, each renamed by the
  // commits below; the name each last commit the store acknowledged gave it.
  const std::string on_master = user_on(redis.cluster(), master);
  const std::string elsewhere = user_on(redis.cluster(), other);
  std::map<std::string, std::string> acknowledged;
  for (const std::string& user : {on_master, elsewhere}) {
    // A create whose acknowledgement came too late (a busy machine) may have been applied: tried
    // again, it conflicts. Either way the user is there for the renames below, and only an
    // acknowledged create is counted.
    REQUIRE(it::wait_until(
        [&] {
          try {
            if (commit_one(*store, commit_of(plain_user(user))) == commit_status::committed)
              acknowledged[user] = plain_user(user).u.name;
            return true;
          } catch (const store_unavailable&) {
            return false;
          }
        },
        std::chrono::seconds(20)));
  }
  const auto try_rename = [&](const std::string& user, const std::string& name) {
    try {
      core::user_state state = load_one(*store, user);
      state.u.name = name;
      if (commit_one(*store, commit_of(state)) != commit_status::committed) return false;
    } catch (const store_unavailable&) {
      return false;
    }
    acknowledged[user] = name;
    return true;
  };

  // Its replica hangs: nothing on that master is acknowledged, while the other master's user
  // still commits; the replica back, commits on that master are acknowledged again.
  redis.cluster().pause(replica);
  CHECK_FALSE(try_rename(on_master, "held up"));
  CHECK(try_rename(elsewhere, "beside it"));
  redis.cluster().resume(replica);
  CHECK(it::wait_until([&] { return try_rename(on_master, "replicated"); },
                       std::chrono::seconds(20)));

  // The master dies and its replica takes over: the store finds the new owner of those slots,
  // and there every commit it acknowledged.
  redis.cluster().kill9(master);
  redis.cluster().take_over(replica);
  // The other masters hear of it by gossip: at once, or at their next ping of it, which on a
  // starved machine (a stress run of this test beside busy loops once took over 20 s) comes late.
  REQUIRE(it::wait_until(
      [&] {
        return redis.cluster().owner_of(redis_slot_of(redis_detail::user_key(on_master))) ==
               replica;
      },
      std::chrono::seconds(60)));
  for (const auto& [user, name] : acknowledged) {
    CAPTURE(user);
    CHECK(it::wait_until(
        [&] {
          try {
            const auto loaded = store->load({user}).states.at(0);
            return loaded && loaded->u.name == name;
          } catch (const store_unavailable&) {
            return false;
          }
        },
        std::chrono::seconds(20)));
  }
  CHECK(it::wait_until([&] { return try_rename(on_master, "after the failover"); },
                       std::chrono::seconds(20)));
}

}  // namespace streamgate::redis_test
