// The Redis store against a real redis-server and a real three-master Redis Cluster on free
// loopback ports (started per test case, their data in the test's temp dir): compare-and-commit,
// the lease index, the audit trail, seeding and recovery are tested on the real thing.

#include "worker/store/redis/redis_store.hpp"

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "redis_cluster.hpp"
#include "redis_server.hpp"
#include "tests/unit/starts_named.hpp"
#include "tests/unit/temp_dir.hpp"
#include "wait.hpp"
#include "worker/store/redis/connection.hpp"

using namespace streamgate;
using namespace std::chrono_literals;

namespace {

// One redis-server for the test case.
class single_redis {
 public:
  single_redis() : server_(dir_.path() / "redis") {}

  std::vector<redis_address> seeds() const { return {{"127.0.0.1", server_.port()}}; }
  it::redis_server& server() { return server_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  // A plain connection of the test's, to look at or break what the store wrote.
  std::unique_ptr<redis_client> client() const {
    return std::make_unique<redis_client>(seeds()[0], 2s);
  }

 private:
  test::temp_dir dir_;
  it::redis_server server_;
};

// A three-master cluster for the test case; the store is given only its first node.
class cluster_redis {
 public:
  cluster_redis() : cluster_(dir_.path() / "cluster") {}

  std::vector<redis_address> seeds() const { return {{"127.0.0.1", cluster_.port(0)}}; }
  it::redis_cluster& cluster() { return cluster_; }
  std::unique_ptr<redis_client> client(std::size_t node) const {
    return std::make_unique<redis_client>(redis_address{"127.0.0.1", cluster_.port(node)}, 2s);
  }

 private:
  test::temp_dir dir_;
  it::redis_cluster cluster_;
};

std::unique_ptr<redis_store> open_store(const std::vector<redis_address>& seeds,
                                        redis_store_options options = {}) {
  return redis_store::open(seeds, options);
}

core::user_state user_named(const std::string& id) {
  core::user_state s;
  s.u.id = id;
  s.u.name = "User " + id;
  return s;
}

stream stream_of(const std::string& user_id, const std::string& stream_id,
                 std::int64_t expires_at_ms) {
  return {stream_id, user_id, "v1", "device-1", expires_at_ms - 90'000, expires_at_ms};
}

// A commit of `state` as loaded (state.version is the version it was loaded at).
user_commit commit_of(core::user_state state, std::optional<std::int64_t> next_expiry = {},
                      std::vector<audit_entry> audit = {},
                      std::vector<std::string> request_ids = {}) {
  user_commit c;
  // The state's own start of each id, or a bare one when the test keeps none in the state.
  c.new_starts = test::starts_named(state, request_ids);
  for (const std::string& id : request_ids)
    if (std::none_of(c.new_starts.begin(), c.new_starts.end(),
                     [&](const core::remembered_start& r) { return r.request_id == id; }))
      c.new_starts.emplace_back().request_id = id;
  c.state = std::move(state);
  c.next_expiry = next_expiry;
  c.audit = std::move(audit);
  return c;
}

commit_status commit_one(store& s, user_commit c) {
  const auto answers = s.commit({std::move(c)});
  REQUIRE(answers.size() == 1);
  return answers[0];
}

core::user_state load_one(store& s, const std::string& id) {
  auto loaded = s.load({id});
  REQUIRE(loaded.states.size() == 1);
  REQUIRE(loaded.states[0].has_value());
  return *loaded.states[0];
}

std::int64_t store_now(store& s) { return s.load({}).now_ms; }

audit_entry audit_line(const std::string& user_id, std::int64_t at_ms, std::string type,
                       std::string request_id = "") {
  audit_entry e;
  e.user_id = user_id;
  e.at_ms = at_ms;
  e.type = std::move(type);
  e.request_id = std::move(request_id);
  return e;
}

// Every due user one full pass over the 16384 per-slot lease indexes finds.
std::set<std::string> due_in_full_pass(store& s, std::int64_t now_ms, std::size_t max = 1000,
                                       std::size_t slots_per_scan = redis_store_options{}.slots_per_scan) {
  std::set<std::string> due;
  for (std::size_t k = 0; k < redis_slot_count / slots_per_scan; ++k)
    for (std::string& u : s.due_users(now_ms, max)) due.insert(std::move(u));
  return due;
}

// The store's calls after a restart of Redis: the first may find the old connection broken.
template <class Call>
auto after_reconnect(Call call) {
  for (int attempt = 1;; ++attempt) {
    try {
      return call();
    } catch (const store_unavailable&) {
      if (attempt == 5) throw;
    }
  }
}

bool same_audit(const audit_entry& a, const audit_entry& b) {
  return a.user_id == b.user_id && a.at_ms == b.at_ms && a.type == b.type &&
         a.stream_id == b.stream_id && a.request_id == b.request_id && a.video_id == b.video_id &&
         a.reason == b.reason;
}

dataset_catalog demo_catalog() {
  dataset_catalog c;
  c.videos = {{"v1", "One", 60}, {"v2", "Two \x1f with odd bytes", 3600}};
  c.plans = {{"basic", 1, policy::deny}, {"premium", 4, policy::evict_oldest}};
  return c;
}

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

TEST_CASE("two redis workers committing one user from the same loaded version: exactly one commits",
          "[redis][integration]") {
  single_redis redis;
  auto first = open_store(redis.seeds());
  auto second = open_store(redis.seeds());
  REQUIRE(commit_one(*first, commit_of(user_named("alice"))) == commit_status::committed);

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
    REQUIRE(commit_one(*seeding, commit_of(user_named("alice"))) == commit_status::committed);
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

  core::user_state by_first = user_named("bob");
  core::user_state by_second = user_named("bob");
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
  core::user_state alice = user_named("alice");
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

TEST_CASE("a redis user's audit is trimmed to its cap and read newest first",
          "[redis][integration]") {
  single_redis redis;
  redis_store_options options;
  options.audit_cap = 5;
  auto s = open_store(redis.seeds(), options);
  core::user_state alice = user_named("alice");
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
    core::user_state bob = user_named("bob");
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
    core::user_state stale = user_named("alice");  // version 0: stale
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
  core::user_state alice = user_named("alice");
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
      core::user_state u = user_named(id);
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
  REQUIRE(commit_one(*s, commit_of(user_named("alice"), {}, {}, {"r1", "r2"})) ==
          commit_status::committed);
  CHECK(s->request_owner("r1") == std::optional<std::string>("alice"));
  CHECK(s->request_owner("r2") == std::optional<std::string>("alice"));
  CHECK_FALSE(s->request_owner("r3").has_value());
  // Forgotten with the request memory.
  CHECK(it::wait_until([&] { return !s->request_owner("r1").has_value(); }, 5s));
}

TEST_CASE("seeding redis is idempotent, keeps existing users and writes its marker last",
          "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  CHECK_FALSE(s->seeded());
  const dataset_catalog catalog = demo_catalog();
  s->seed(catalog, {user_named("alice"), user_named("bob")});
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
  s->seed(catalog, {user_named("alice"), user_named("bob"), user_named("carol")});
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
  first->seed(demo_catalog(), {user_named("alice")});
  CHECK(second->seeded());

  // Redis lost everything (a restart without its data): every worker of the old dataset sees it.
  REQUIRE(reply_string(*redis.client()->command({"FLUSHALL"})) == "OK");
  CHECK_FALSE(first->seeded());
  // A worker started now makes a new dataset; the old ones never take it for theirs.
  auto third = open_store(redis.seeds());
  CHECK(third->dataset_id() != first->dataset_id());
  third->seed(demo_catalog(), {user_named("alice")});
  CHECK(third->seeded());
  CHECK_FALSE(first->seeded());
  CHECK_FALSE(second->seeded());
}

TEST_CASE("a redis that lost its scripts gets the commit script again", "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  REQUIRE(commit_one(*s, commit_of(user_named("alice"))) == commit_status::committed);
  const auto flushed = redis.client()->command({"SCRIPT", "FLUSH"});
  REQUIRE(reply_string(*flushed) == "OK");

  core::user_state alice = load_one(*s, "alice");
  alice.seq = 1;
  const auto answers =
      s->commit({commit_of(alice), commit_of(user_named("bob")), commit_of(user_named("alice"))});
  CHECK(answers == std::vector<commit_status>{commit_status::committed, commit_status::committed,
                                              commit_status::conflict});
  CHECK(load_one(*s, "alice").version == 2);
  CHECK(load_one(*s, "bob").version == 1);
}

TEST_CASE("what redis acknowledged survives a kill -9 of redis (AOF)", "[redis][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  s->seed(demo_catalog(), {user_named("alice")});
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

// ---- the same store on a three-master Redis Cluster ----

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
  for (const auto& id : ids) users.push_back(user_named(id));
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
  for (const auto& id : ids) users.push_back(user_named(id));
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
  for (const auto& id : ids) users.push_back(user_named(id));
  s->seed(demo_catalog(), users);

  redis.cluster().kill9(1);
  // Users on the dead master cannot be committed: the batch is unavailable, never half-told.
  CHECK_THROWS_AS(s->load(ids), store_unavailable);
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
