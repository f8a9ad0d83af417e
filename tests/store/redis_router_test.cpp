// The Redis router: slot hashing against the Cluster specification's vectors and a real cluster's
// CLUSTER KEYSLOT, and routing against a real redis-server and a real three-master Redis Cluster
// (started per test case in the test's temp dir), including the redirections a resharding sends
// and a node that crashes and comes back.

#include <hiredis/hiredis.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <string>
#include <tuple>
#include <vector>

#include "redis_cluster.hpp"
#include "redis_server.hpp"
#include "temp_dir.hpp"
#include "worker/store/redis/router.hpp"
#include "worker/store/store.hpp"

using namespace streamgate;
using namespace std::chrono_literals;

namespace {

constexpr auto timeout = 2000ms;

redis_address local(unsigned short port) { return {"127.0.0.1", port}; }

std::vector<redis_address> seeds_of(const std::string& url) {
  auto seeds = parse_redis_urls(url);
  REQUIRE(seeds.has_value());
  return *seeds;
}

std::string text_of(const redis_reply_ptr& reply) {
  REQUIRE(reply != nullptr);
  return std::string(reply_string(*reply));
}

// A direct connection to one node, for what a test does behind the router's back.
class admin final {
 public:
  explicit admin(unsigned short port) : client_(local(port), timeout) {}

  std::string text(const std::vector<std::string_view>& args) {
    return text_of(client_.command(args));
  }
  long long integer(const std::vector<std::string_view>& args) {
    return reply_integer(*client_.command(args));
  }
  std::string id() { return text({"CLUSTER", "MYID"}); }
  // How many `command`s the node received since CONFIG RESETSTAT, run or redirected elsewhere
  // ("cmdstat_get:calls=3,...,rejected_calls=1,..."; a MOVED or ASK is a rejected call).
  long long received(std::string_view command) {
    const std::string stats = text({"INFO", "commandstats"});
    const auto line = stats.find("cmdstat_" + std::string(command) + ":");
    if (line == std::string::npos) return 0;
    long long total = 0;
    for (std::string_view field : {"calls=", "rejected_calls="}) {
      const auto at = stats.find(std::string(field), line);
      total += std::stoll(stats.substr(at + field.size()));
    }
    return total;
  }

 private:
  redis_client client_;
};

struct cluster_fixture {
  test::temp_dir dir;
  it::redis_cluster cluster{dir.path() / "cluster"};

  // The port of the master that owns `slot`, as node 0 sees the map.
  unsigned short owner_of(std::uint16_t slot) { return cluster.port(cluster.owner_of(slot)); }
  unsigned short other_than(unsigned short port) {
    return cluster.port(0) != port ? cluster.port(0) : cluster.port(1);
  }
};

std::vector<redis_command> sets(const std::vector<std::string>& keys) {
  std::vector<redis_command> out;
  for (const auto& k : keys) out.push_back({k, {"SET", k, "value of " + k}});
  return out;
}

std::vector<redis_command> gets(const std::vector<std::string>& keys) {
  std::vector<redis_command> out;
  for (const auto& k : keys) out.push_back({k, {"GET", k}});
  return out;
}

std::vector<std::string> numbered_keys(int n) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back("key:" + std::to_string(i));
  return keys;
}

void check_values(const std::vector<std::string>& keys, const std::vector<redis_reply_ptr>& got) {
  REQUIRE(got.size() == keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CAPTURE(keys[i]);
    CHECK(text_of(got[i]) == "value of " + keys[i]);
  }
}

}  // namespace

TEST_CASE("a key's slot is the CRC16 of the key, or of its hash tag, modulo 16384",
          "[redis][router]") {
  // CRC16-XMODEM's check value: 0x31C3 < 16384, so it is the slot itself.
  CHECK(redis_slot_of("123456789") == 0x31C3);
  CHECK(redis_slot_of("{user1000}.following") == redis_slot_of("{user1000}.followers"));
  CHECK(redis_slot_of("{user1000}.following") == redis_slot_of("user1000"));

  const auto [key, hashed] = GENERATE(table<std::string, std::string>({
      {"foo{}{bar}", "foo{}{bar}"},  // an empty first tag: the whole key
      {"foo{{bar}}zap", "{bar"},     // the first '{' to the first '}' after it
      {"foo{bar}{zap}", "bar"},      // only the first tag counts
      {"{user:alice}:audit", "user:alice"},
      {"sg:request:{r-1}", "r-1"},
      {"no tag}{", "no tag}{"},
      {"{unclosed", "{unclosed"},
  }));
  CAPTURE(key);
  CHECK(redis_slot_of(key) == redis_slot_of(hashed));
}

TEST_CASE("every slot has a tag of its own that hashes to it", "[redis][router]") {
  const auto& tags = redis_slot_tags();
  for (std::size_t slot = 0; slot < redis_slot_count; ++slot) {
    const std::string& tag = tags[slot];
    CAPTURE(slot, tag);
    REQUIRE(!tag.empty());
    REQUIRE(tag.find_first_of("{}") == std::string::npos);
    REQUIRE(redis_slot_of("{" + tag + "}:leases") == slot);
  }
  // Computed once: the same object, so the same names, on every call.
  CHECK(&redis_slot_tags() == &tags);
}

TEST_CASE("a store url names one or more redis nodes", "[redis][router]") {
  SECTION("several nodes") {
    const auto seeds = parse_redis_urls("redis://10.0.0.1:7000,10.0.0.2:7001,node3");
    REQUIRE(seeds.has_value());
    REQUIRE(seeds->size() == 3);
    CHECK((*seeds)[0].host == "10.0.0.1");
    CHECK((*seeds)[0].port == 7000);
    CHECK((*seeds)[1].host == "10.0.0.2");
    CHECK((*seeds)[1].port == 7001);
    CHECK((*seeds)[2].host == "node3");
    CHECK((*seeds)[2].port == 6379);
  }
  SECTION("one node") {
    const auto seeds = parse_redis_urls("redis://127.0.0.1:6380");
    REQUIRE(seeds.has_value());
    REQUIRE(seeds->size() == 1);
    CHECK((*seeds)[0].port == 6380);
  }
  SECTION("anything else is refused") {
    const std::string url = GENERATE("", "redis://", "http://a:1", "redis://a:1,", "redis://,a:1",
                                     "redis://a:x", "redis://a:1,b:0", "redis://a:1,,b:2");
    CAPTURE(url);
    CHECK_FALSE(parse_redis_urls(url).has_value());
  }
}

TEST_CASE("a plain redis server gets every command, replies in the order given",
          "[redis][router][integration]") {
  test::temp_dir dir;
  it::redis_server server(dir.path() / "redis");
  redis_router router(seeds_of(server.url()), timeout);
  CHECK_FALSE(router.cluster());

  const auto keys = numbered_keys(200);
  for (const auto& r : router.run(sets(keys))) CHECK(text_of(r) == "OK");
  auto batch = gets(keys);
  batch.push_back({"", {"PING"}});
  batch.push_back({"key:0", {"INCR", "key:0"}});  // an error of Redis is a reply
  const auto replies = router.run(batch);
  REQUIRE(replies.size() == keys.size() + 2);
  for (std::size_t i = 0; i < keys.size(); ++i) CHECK(text_of(replies[i]) == "value of " + keys[i]);
  CHECK(text_of(replies[keys.size()]) == "PONG");
  CHECK(reply_is_error(*replies[keys.size() + 1]));

  const auto every = router.run_on_every_node({"DBSIZE"});
  REQUIRE(every.size() == 1);
  CHECK(reply_integer(*every[0]) == 200);
}

TEST_CASE("commands for keys all over a cluster come back in order with their values",
          "[redis][router][integration]") {
  cluster_fixture f;
  redis_router router(seeds_of(f.cluster.url()), timeout);
  REQUIRE(router.cluster());

  const auto keys = numbered_keys(300);
  for (const auto& r : router.run(sets(keys))) CHECK(text_of(r) == "OK");
  check_values(keys, router.run(gets(keys)));

  // Spread over the three masters, which each hold only their own keys.
  const auto sizes = router.run_on_every_node({"DBSIZE"});
  REQUIRE(sizes.size() == it::redis_cluster::node_count);
  long long total = 0;
  for (const auto& s : sizes) {
    CHECK(reply_integer(*s) > 0);
    total += reply_integer(*s);
  }
  CHECK(total == 300);

  SECTION("our slots are the cluster's") {
    admin node(f.cluster.port(0));
    for (std::string key : {"foo{}{bar}", "foo{{bar}}zap", "{user1000}.following", "123456789",
                            "{user:alice}:audit", "sg:users", "}{x}", "{"}) {
      CAPTURE(key);
      CHECK(node.integer({"CLUSTER", "KEYSLOT", key}) == redis_slot_of(key));
    }
  }
}

TEST_CASE("pipelines of megabytes to every master at once come back whole and in order",
          "[redis][router][integration]") {
  // Every node's pipeline is written before any reply is read: far more than a socket buffer
  // to each node, and replies as large, must neither block nor mix up (redis_router::run).
  cluster_fixture f;
  redis_router router(seeds_of(f.cluster.url()), timeout);
  REQUIRE(router.cluster());

  const auto keys = numbered_keys(240);
  const auto value_of = [](const std::string& key) {
    return key + std::string(64 * 1024, static_cast<char>('a' + key.size() % 26));
  };
  std::vector<redis_command> writes;
  for (const auto& k : keys) writes.push_back({k, {"SET", k, value_of(k)}});
  for (const auto& r : router.run(writes)) CHECK(text_of(r) == "OK");

  const auto got = router.run(gets(keys));
  REQUIRE(got.size() == keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CAPTURE(keys[i]);
    CHECK(text_of(got[i]) == value_of(keys[i]));
  }
  for (const auto& s : router.run_on_every_node({"DBSIZE"})) CHECK(reply_integer(*s) > 0);
}

TEST_CASE(
    "a command sent to a slot's old owner follows MOVED to the new one, and the next goes "
    "there at once",
    "[redis][router][integration]") {
  cluster_fixture f;
  redis_router router(seeds_of(f.cluster.url()), timeout);
  const std::string key = "{moving}key";
  REQUIRE(text_of(router.run(sets({key}))[0]) == "OK");

  // Move the slot with its key, as redis-cli --cluster reshard does, behind the router's back.
  const unsigned short from_port = f.owner_of(redis_slot_of(key));
  const unsigned short to_port = f.other_than(from_port);
  admin from(from_port), to(to_port);
  for (std::size_t n = 0; n < it::redis_cluster::node_count; ++n)
    if (f.cluster.port(n) == to_port) f.cluster.move_slot(redis_slot_of(key), n);
  REQUIRE(from.text({"CONFIG", "RESETSTAT"}) == "OK");
  REQUIRE(to.text({"CONFIG", "RESETSTAT"}) == "OK");

  const auto others = numbered_keys(50);
  router.run(sets(others));
  auto batch = gets(others);
  batch.insert(batch.begin() + 10, {key, {"GET", key}});
  batch.push_back({key, {"APPEND", key, "!"}});
  const auto replies = router.run(batch);
  REQUIRE(replies.size() == others.size() + 2);
  CHECK(text_of(replies[10]) == "value of " + key);
  CHECK(reply_integer(*replies.back()) == static_cast<long long>(("value of " + key + "!").size()));
  for (std::size_t i = 0, k = 0; i < replies.size() - 1; ++i) {
    if (i == 10) continue;
    CAPTURE(others[k]);
    CHECK(text_of(replies[i]) == "value of " + others[k++]);
  }
  // Each went to the old owner first, then to the new one.
  CHECK(from.received("append") == 1);
  CHECK(to.received("append") == 1);

  const long long gets_at_old_owner = from.received("get");
  CHECK(text_of(router.run(gets({key}))[0]) == "value of " + key + "!");
  CHECK(from.received("get") == gets_at_old_owner);
  CHECK(to.text({"GET", key}) == "value of " + key + "!");
}

TEST_CASE("a command for a key already migrated follows ASK once, without changing the map",
          "[redis][router][integration]") {
  cluster_fixture f;
  redis_router router(seeds_of(f.cluster.url()), timeout);
  const std::string moved = "{asking}moved", stays = "{asking}stays";
  const std::string slot = std::to_string(redis_slot_of(moved));
  for (const auto& r : router.run(sets({moved, stays}))) REQUIRE(text_of(r) == "OK");

  // A migration under way: the slot is still the old owner's, one of its keys is at the new one.
  const unsigned short from_port = f.owner_of(redis_slot_of(moved));
  const unsigned short to_port = f.other_than(from_port);
  admin from(from_port), to(to_port);
  const std::string from_id = from.id(), to_id = to.id();
  REQUIRE(to.text({"CLUSTER", "SETSLOT", slot, "IMPORTING", from_id}) == "OK");
  REQUIRE(from.text({"CLUSTER", "SETSLOT", slot, "MIGRATING", to_id}) == "OK");
  REQUIRE(from.text({"MIGRATE", "127.0.0.1", std::to_string(to_port), moved, "0", "5000"}) == "OK");
  REQUIRE(from.text({"CONFIG", "RESETSTAT"}) == "OK");
  REQUIRE(to.text({"CONFIG", "RESETSTAT"}) == "OK");

  const auto replies = router.run(gets({moved, stays, moved}));
  check_values({moved, stays, moved}, replies);
  CHECK(from.received("get") == 3);
  CHECK(to.received("asking") == 2);
  CHECK(to.received("get") == 2);

  // ASK is for one command: the slot is still the old owner's, so the next batch asks it first.
  check_values({stays, moved}, router.run(gets({stays, moved})));
  CHECK(from.received("get") == 5);
  CHECK(to.received("asking") == 3);
}

TEST_CASE(
    "a node that is down makes the batch unavailable, or only its own commands, and once it is "
    "back the next batch works",
    "[redis][router][integration]") {
  // hiredis writes with write(): a node that resets the connection must be an error, not the
  // SIGPIPE that would end the test run (the integration tests' main does the same).
  std::signal(SIGPIPE, SIG_IGN);
  // Given every node, or node 0 alone: then the masters of the last map it read are its way back.
  const bool one_seed = GENERATE(false, true);
  CAPTURE(one_seed);
  cluster_fixture f;
  std::vector<redis_address> seeds = seeds_of(f.cluster.url());
  if (one_seed) seeds.resize(1);
  redis_router router(seeds, timeout);
  const auto keys = numbered_keys(100);
  router.run(sets(keys));

  std::vector<std::string> on_live_nodes;
  for (const auto& k : keys)
    if (f.owner_of(redis_slot_of(k)) != f.cluster.port(0)) on_live_nodes.push_back(k);
  REQUIRE(on_live_nodes.size() < keys.size());

  f.cluster.kill9(0);  // node 0 is the first seed too: the router must find the cluster without it
  CHECK_THROWS_AS(router.run(gets(keys)), store_unavailable);
  CHECK_THROWS_AS(router.run(gets(keys)), store_unavailable);
  // Every master but the one down answers.
  const auto pings = router.run_on_every_node({"PING"});
  CHECK(std::count(pings.begin(), pings.end(), nullptr) == 1);
  // A batch that needs only the nodes that are up is served meanwhile; of one that needs every
  // node, the commands of the node down alone fail.
  check_values(on_live_nodes, router.run(gets(on_live_nodes)));
  const auto replies = router.run_where_reachable(gets(keys));
  REQUIRE(replies.size() == keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CAPTURE(keys[i]);
    const bool down =
        std::find(on_live_nodes.begin(), on_live_nodes.end(), keys[i]) == on_live_nodes.end();
    CHECK((replies[i] == nullptr) == down);
    if (!down) CHECK(text_of(replies[i]) == "value of " + keys[i]);
  }

  f.cluster.restart(0);
  // What a node acknowledged before it was killed is there again (AOF, fsync always).
  check_values(keys, router.run(gets(keys)));
  CHECK(router.run_on_every_node({"PING"}).size() == it::redis_cluster::node_count);
}
