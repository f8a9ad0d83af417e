// The Redis store against a real master and a real replica of it, on free loopback ports
// (redis_store_support.hpp).
// Here: a commit counts as done only once the replica holds it, so a failover to the replica
// loses nothing the store acknowledged (docs/design.md §8). Redis replicates asynchronously: a
// master that dies while its replication stream is held up (here in a relay the test holds, in
// production a slow or cut network) fails over to a replica without what it last answered.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "redis_server.hpp"
#include "redis_store_support.hpp"
#include "tcp_relay.hpp"
#include "test_store.hpp"
#include "wait.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/redis/replica_acks.hpp"

namespace streamgate::redis_test {

TEST_CASE("a redis store acknowledges no commit a failover to its master's replica would lose",
          "[redis][replica][integration]") {
  single_redis master;
  it::redis_server replica(master.dir() / "replica");
  const redis_address replica_address{"127.0.0.1", replica.port()};
  auto replication = std::make_unique<it::tcp_relay>(master.server().port());
  {
    redis_client to_replica(replica_address, std::chrono::seconds{2});
    REQUIRE(reply_string(*to_replica.command(
                {"REPLICAOF", "127.0.0.1", std::to_string(replication->port())})) == "OK");
  }
  REQUIRE(
      it::wait_until([&] { return connected_replicas(*master.client()->command({"ROLE"})) == 1; },
                     std::chrono::seconds(20)));
  redis_store_options options;
  options.timeout = std::chrono::milliseconds{1000};
  // Opening writes (the dataset id), which the replica acknowledges.
  auto store = after_reconnect([&] { return open_store(master.seeds(), options); });

  // The users whose commit the store answered committed.
  std::vector<std::string> acknowledged;
  const auto try_commit = [&](const std::string& user) {
    try {
      if (commit_one(*store, commit_of(plain_user(user))) == commit_status::committed)
        acknowledged.push_back(user);
      return true;
    } catch (const store_unavailable&) {
      return false;
    }
  };
  // Until one is acknowledged, each try a new user: a try whose acknowledgement came too late (a
  // busy machine) may still have been applied, and trying that user again would conflict.
  int tries = 0;
  const auto commit_acknowledged = [&](const std::string& name) {
    return it::wait_until([&] { return try_commit(name + std::to_string(++tries)); },
                          std::chrono::seconds(20));
  };
  REQUIRE(commit_acknowledged("alice"));

  // Replication held up: nothing is acknowledged; flowing again, commits are.
  replication->pause();
  CHECK_FALSE(try_commit("bob"));
  replication->resume();
  CHECK(commit_acknowledged("carol"));

  // The master dies while replication is held up, and the replica takes over without what was
  // held.
  replication->pause();
  CHECK_FALSE(try_commit("dave"));
  master.server().kill9();
  replication.reset();
  {
    redis_client to_replica(replica_address, std::chrono::seconds{2});
    REQUIRE(reply_string(*to_replica.command({"REPLICAOF", "NO", "ONE"})) == "OK");
  }
  auto promoted = open_store({replica_address}, options);
  REQUIRE(acknowledged.size() == 2);
  CHECK(acknowledged[0].starts_with("alice"));
  CHECK(acknowledged[1].starts_with("carol"));
  for (const std::string& user : acknowledged) {
    CAPTURE(user);
    CHECK(promoted->load({user}).states.at(0).has_value());
  }
}

}  // namespace streamgate::redis_test
