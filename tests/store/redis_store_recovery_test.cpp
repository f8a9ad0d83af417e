// The Redis store against a real redis-server and a real three-master Redis Cluster on free
// loopback ports (started per test case, their data in the test's temp dir), tested on the real
// thing (redis_store_support.hpp).
// Here: seeding and the dataset id, a Redis that lost its scripts or its data or was killed
// (AOF), and the store's options.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "redis_store_support.hpp"
#include "test_store.hpp"
#include "worker/store/redis/redis_store.hpp"

namespace streamgate::redis_test {

namespace {

// The commands of Redis's append-only file (Redis 7: appendonlydir/*.incr.aof), in order, as
// their first two words ("SET sg:seeded"): what Redis did and in which order.
std::vector<std::string> aof_commands(const std::filesystem::path& dir) {
  std::vector<std::string> commands;
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir / "appendonlydir"))
    if (entry.path().string().ends_with(".incr.aof")) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::string line;
    while (std::getline(in, line)) {
      if (!line.starts_with("*")) continue;
      const int argc = std::stoi(line.substr(1));
      std::vector<std::string> args;
      for (int i = 0; i < argc; ++i) {
        std::getline(in, line);  // $length
        const std::size_t length = std::stoul(line.substr(1));
        std::string arg(length, '\0');
        in.read(arg.data(), static_cast<std::streamsize>(length));
        std::getline(in, line);  // the CRLF after the bytes
        args.push_back(std::move(arg));
      }
      if (args.empty()) continue;
      std::string text = args[0];
      std::transform(text.begin(), text.end(), text.begin(),
                     [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
      if (args.size() > 1) text += ' ' + args[1];
      commands.push_back(std::move(text));
    }
  }
  return commands;
}

}  // namespace

TEST_CASE("seeding redis is idempotent, keeps existing users and writes its marker last",
          "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  CHECK_FALSE(s->seeded());
  const dataset_catalog catalog = demo_catalog();
  s->seed(catalog, {plain_user("alice"), plain_user("bob")});
  CHECK(s->seeded());
  CHECK(s->user_ids() == std::vector<std::string>{"alice", "bob"});

  const dataset_catalog read = s->load_catalog();
  REQUIRE(read.videos.size() == 2);
  CHECK(read.videos[1].id == "v2");
  CHECK(read.videos[1].title == catalog.videos[1].title);
  CHECK(read.videos[1].duration_seconds == 3600);
  CHECK(read.plans == catalog.plans);

  // The marker is the last thing Redis wrote: a seed cut short leaves it absent.
  const std::vector<std::string> written = aof_commands(redis.dir() / "redis");
  REQUIRE_FALSE(written.empty());
  CHECK(written.back() == "SET sg:seeded");
  CHECK(std::count(written.begin(), written.end(), "SET sg:seeded") == 1);

  // A user changed since is kept by a second seed.
  core::user_state alice = load_one(*s, "alice");
  alice.u.name = "Alice Renamed";
  REQUIRE(commit_one(*s, commit_of(alice)) == commit_status::committed);
  s->seed(catalog, {plain_user("alice"), plain_user("bob"), plain_user("carol")});
  CHECK(load_one(*s, "alice").u.name == "Alice Renamed");
  CHECK(load_one(*s, "alice").version == 2);
  CHECK(s->user_ids() == std::vector<std::string>{"alice", "bob", "carol"});
  CHECK(s->seeded());
}

TEST_CASE("two redis workers share one dataset id, and a lost dataset is noticed",
          "[redis][integration]") {
  single_redis redis;
  auto first = open_store(redis.seeds());
  auto second = open_store(redis.seeds());
  CHECK(first->dataset_id().starts_with("d_"));
  CHECK(first->dataset_id() == second->dataset_id());
  first->seed(demo_catalog(), {plain_user("alice")});
  CHECK(second->seeded());

  // Redis lost everything (a restart without its data): every worker of the old dataset sees it.
  REQUIRE(reply_string(*redis.client()->command({"FLUSHALL"})) == "OK");
  CHECK_FALSE(first->seeded());
  // A worker started now makes a new dataset; the old ones never take it for theirs.
  auto third = open_store(redis.seeds());
  CHECK(third->dataset_id() != first->dataset_id());
  third->seed(demo_catalog(), {plain_user("alice")});
  CHECK(third->seeded());
  CHECK_FALSE(first->seeded());
  CHECK_FALSE(second->seeded());
}

TEST_CASE("a redis that lost its scripts gets the commit script again", "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  REQUIRE(commit_one(*s, commit_of(plain_user("alice"))) == commit_status::committed);
  const auto flushed = redis.client()->command({"SCRIPT", "FLUSH"});
  REQUIRE(reply_string(*flushed) == "OK");

  core::user_state alice = load_one(*s, "alice");
  alice.seq = 1;
  const auto answers =
      s->commit({commit_of(alice), commit_of(plain_user("bob")), commit_of(plain_user("alice"))});
  CHECK(answers == std::vector<commit_status>{commit_status::committed, commit_status::committed,
                                              commit_status::conflict});
  CHECK(load_one(*s, "alice").version == 2);
  CHECK(load_one(*s, "bob").version == 1);
}

TEST_CASE("what redis acknowledged survives a kill -9 of redis (AOF)", "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  s->seed(demo_catalog(), {plain_user("alice")});
  const std::int64_t now = store_now(*s);
  core::user_state alice = load_one(*s, "alice");
  alice.streams.push_back(stream_of("alice", "s_1", now + 500));
  alice.seq = 1;
  REQUIRE(commit_one(*s, commit_of(alice, now + 500, {audit_line("alice", now, "allowed", "r1")},
                                   {"r1"})) == commit_status::committed);
  const std::string dataset = s->dataset_id();

  redis.server().kill9();
  redis.server().start();

  // The same store object: its first call finds the connection broken, the next reconnects.
  CHECK(after_reconnect([&] { return s->seeded(); }));
  const core::user_state stored = after_reconnect([&] { return load_one(*s, "alice"); });
  CHECK(stored.version == 2);
  CHECK(stored.streams == alice.streams);
  CHECK(s->recent_audit("alice", 10).size() == 1);
  CHECK(s->request_owner("r1") == std::optional<std::string>("alice"));
  CHECK(due_in_full_pass(*s, now + 500) == std::set<std::string>{"alice"});
  // The restarted Redis has no scripts: the commit loads it again.
  core::user_state next = stored;
  next.streams.clear();
  CHECK(commit_one(*s, commit_of(next)) == commit_status::committed);
  CHECK(open_store(redis.seeds())->dataset_id() == dataset);
}

TEST_CASE("redis store options out of range are refused", "[redis][integration]") {
  single_redis redis;
  redis_store_options options;
  SECTION("audit cap") {
    options.audit_cap = 0;
    CHECK_THROWS_AS(open_store(redis.seeds(), options), std::invalid_argument);
  }
  SECTION("slots per scan") {
    options.slots_per_scan = redis_slot_count + 1;
    CHECK_THROWS_AS(open_store(redis.seeds(), options), std::invalid_argument);
  }
}

TEST_CASE("a redis store without any redis is unavailable", "[redis][integration]") {
  std::vector<redis_address> nowhere{{"127.0.0.1", 1}};
  CHECK_THROWS_AS(open_store(nowhere), store_unavailable);
}

}  // namespace streamgate::redis_test
