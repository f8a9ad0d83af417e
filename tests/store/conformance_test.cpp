// One conformance suite for the store interface (worker/store/store.hpp): every case runs against
// SQLite, a redis-server and a three-master Redis Cluster, so the worker can rely on the same
// contract whichever store it is given: compare-and-commit per user, the store's clock, the lease
// and request indexes, the audit trail, seeding, the dataset id and durability across a restart.
// Only the interface is used; what a store does inside (its keys, its tables) is its own tests'.

#include <algorithm>
#include <array>
#include <barrier>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "test_store.hpp"
#include "tests/unit/starts_named.hpp"
#include "wait.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/sqlite/sqlite_store.hpp"
#include "worker/store/store.hpp"

namespace Catch {

// A failed comparison of two states shows what differs, not "{?}".
template <>
struct StringMaker<streamgate::core::user_state> {
  static std::string convert(const streamgate::core::user_state& s) {
    std::ostringstream out;
    out << "{user " << s.u.id << " '" << s.u.name << "' max "
        << (s.u.max_streams ? std::to_string(*s.u.max_streams) : "-") << " policy "
        << (s.u.policy_override ? streamgate::to_string(*s.u.policy_override) : "-") << " plan "
        << s.u.plan.value_or("-") << " token '" << s.u.token_hash << "'; streams";
    for (const auto& st : s.streams)
      out << ' ' << st.stream_id << '/' << st.user_id << '/' << st.video_id << '/' << st.session_id
          << '/' << st.started_at_ms << '-' << st.expires_at_ms;
    out << "; starts";
    for (const auto& r : s.starts)
      out << ' ' << r.request_id << '/' << r.video_id << '/' << r.session_id << '@'
          << r.decided_at_ms << (r.allowed ? " allowed " : " denied ") << r.stream_id << '/'
          << r.expires_at_ms << '/' << r.reason << '/' << r.active << '/' << r.limit
          << (r.over_limit ? "/over" : "");
    out << "; seq " << s.seq << " version " << s.version << '}';
    return out.str();
  }
};

}  // namespace Catch

namespace streamgate {
namespace {

using namespace std::chrono_literals;

// Calls to a Redis store right after its server restarted: the first may find the old connection
// broken (store_unavailable), and the store reconnects on the next.
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

// A user with every field set, so a round trip that drops one is seen.
core::user_state full_user(const std::string& id) {
  core::user_state s;
  s.u.id = id;
  s.u.name = "User " + id + " \xc3\xa9\xe2\x9c\x93";  // not only ASCII
  s.u.max_streams = 2;
  s.u.policy_override = policy::evict_oldest;
  s.u.plan = "premium";
  s.u.token_hash = std::string(64, 'a');
  return s;
}

// A plain user as a catalog seeds it.
core::user_state plain_user(const std::string& id) {
  core::user_state s;
  s.u.id = id;
  s.u.name = "User " + id;
  return s;
}

stream stream_of(const std::string& user_id, const std::string& stream_id,
                 std::int64_t expires_at_ms) {
  return {stream_id, user_id, "v01", "tv-" + stream_id, expires_at_ms - 90'000, expires_at_ms};
}

// The remembered start of an allowed request that granted `granted`.
core::remembered_start start_for(const std::string& request_id, const stream& granted) {
  core::remembered_start r;
  r.request_id = request_id;
  r.video_id = granted.video_id;
  r.session_id = granted.session_id;
  r.decided_at_ms = granted.started_at_ms;
  r.allowed = true;
  r.stream_id = granted.stream_id;
  r.expires_at_ms = granted.expires_at_ms;
  r.active = 1;
  r.limit = 2;
  return r;
}

core::remembered_start denied_start(const std::string& request_id, std::int64_t at_ms) {
  core::remembered_start r;
  r.request_id = request_id;
  r.video_id = "v02";
  r.decided_at_ms = at_ms;
  r.reason = "limit_reached";
  r.over_limit = false;
  r.active = 2;
  r.limit = 2;
  return r;
}

audit_entry audit_line(const std::string& user_id, std::int64_t at_ms, std::string type,
                       std::string request_id = "", std::string stream_id = "",
                       std::string reason = "") {
  audit_entry e;
  e.user_id = user_id;
  e.at_ms = at_ms;
  e.type = std::move(type);
  e.stream_id = std::move(stream_id);
  e.request_id = std::move(request_id);
  e.video_id = e.type == "allowed" || e.type == "denied" ? "v01" : "";
  e.reason = std::move(reason);
  return e;
}

// audit_entry has no operator==: lines are compared as text, which also shows them on failure.
std::string shown(const audit_entry& e) {
  return e.user_id + "|" + std::to_string(e.at_ms) + "|" + e.type + "|" + e.stream_id + "|" +
         e.request_id + "|" + e.video_id + "|" + e.reason;
}

std::vector<std::string> shown(const std::vector<audit_entry>& lines) {
  std::vector<std::string> out;
  for (const audit_entry& e : lines) out.push_back(shown(e));
  return out;
}

// What recent_audit should answer after these lines were appended in this order.
std::vector<std::string> newest_first(std::vector<audit_entry> appended, std::size_t limit) {
  std::reverse(appended.begin(), appended.end());
  if (appended.size() > limit) appended.resize(limit);
  return shown(appended);
}

user_commit commit_of(core::user_state state, std::vector<audit_entry> audit = {},
                      std::optional<std::int64_t> next_expiry = std::nullopt,
                      std::vector<std::string> new_request_ids = {}) {
  user_commit c;
  c.new_starts = test::starts_named(state, new_request_ids);
  c.state = std::move(state);
  c.audit = std::move(audit);
  c.next_expiry = next_expiry;
  return c;
}

commit_status commit_one(store& s, user_commit c) {
  const std::vector<commit_status> answers = s.commit({std::move(c)});
  REQUIRE(answers.size() == 1);
  return answers[0];
}

core::user_state load_one(store& s, const std::string& id) {
  const loaded_users loaded = s.load({id});
  REQUIRE(loaded.states.size() == 1);
  REQUIRE(loaded.states[0].has_value());
  return *loaded.states[0];
}

// `state` as the store should hold it after `commits` commits from nothing.
core::user_state at_version(core::user_state state, std::uint64_t version) {
  state.version = version;
  return state;
}

// Enough due_users calls for a Redis store to scan every per-slot lease index twice (it scans
// slots_per_scan of the 16384 per call); SQLite answers from its whole index at every call.
std::size_t due_calls() {
  return 2 * (redis_slot_count / redis_store_options{}.slots_per_scan) + 1;
}

// Whether due_users names `user` within due_calls() calls.
bool named_due(store& s, const std::string& user, std::int64_t now_ms) {
  for (std::size_t call = 0; call < due_calls(); ++call) {
    const std::vector<std::string> due = s.due_users(now_ms, 100);
    if (std::find(due.begin(), due.end(), user) != due.end()) return true;
  }
  return false;
}

dataset_catalog test_catalog() {
  dataset_catalog c;
  // Not in id order: the store gives them back sorted.
  c.videos = {{"v03", "Three", 5400}, {"v01", "One \xe2\x80\x94 first", 60}, {"v02", "Two", 0}};
  c.plans = {{"premium", 4, policy::evict_oldest},
             {"basic", 1, policy::deny},
             {"family", 3, policy::monitor}};
  return c;
}

}  // namespace

TEST_CASE("a seed stores the catalog and the users of a fresh store, overwriting none",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  CHECK_FALSE(s->seeded());
  CHECK(s->user_ids().empty());

  core::user_state bob = plain_user("bob");
  bob.u.plan = "basic";
  const std::vector<core::user_state> users = {bob, full_user("alice"), plain_user("carol")};
  s->seed(test_catalog(), users);
  CHECK(s->seeded());

  const dataset_catalog catalog = s->load_catalog();
  REQUIRE(catalog.videos.size() == 3);
  CHECK(catalog.videos[0].id == "v01");
  CHECK(catalog.videos[0].title == "One \xe2\x80\x94 first");
  CHECK(catalog.videos[0].duration_seconds == 60);
  CHECK(catalog.videos[1].id == "v02");
  CHECK(catalog.videos[1].duration_seconds == 0);
  CHECK(catalog.videos[2].id == "v03");
  CHECK(catalog.videos[2].title == "Three");
  CHECK(catalog.videos[2].duration_seconds == 5400);
  const std::vector<plan> expected_plans = {{"basic", 1, policy::deny},
                                            {"family", 3, policy::monitor},
                                            {"premium", 4, policy::evict_oldest}};
  CHECK(catalog.plans == expected_plans);

  CHECK(s->user_ids() == std::vector<std::string>{"alice", "bob", "carol"});
  const loaded_users loaded = s->load({"carol", "alice", "bob"});
  REQUIRE(loaded.states.size() == 3);
  REQUIRE(loaded.states[0].has_value());
  REQUIRE(loaded.states[1].has_value());
  REQUIRE(loaded.states[2].has_value());
  // A seeded user is stored as a commit from nothing would store it: version 1.
  CHECK(*loaded.states[0] == at_version(users[2], 1));
  CHECK(*loaded.states[1] == at_version(users[1], 1));
  CHECK(*loaded.states[2] == at_version(users[0], 1));

  // The version loaded is the one a commit must name: the next commit takes it to 2.
  core::user_state renamed = *loaded.states[2];
  renamed.u.name = "Bob, renamed since the seed";
  REQUIRE(commit_one(*s, commit_of(renamed)) == commit_status::committed);
  CHECK(load_one(*s, "bob") == at_version(renamed, 2));

  // A second seed (another worker's, or the next start's) adds a new user and keeps bob as he is.
  s->seed(test_catalog(), {users[0], users[1], users[2], plain_user("dave")});
  CHECK(s->seeded());
  CHECK(load_one(*s, "bob") == at_version(renamed, 2));
  CHECK(load_one(*s, "alice") == at_version(users[1], 1));
  CHECK(load_one(*s, "dave") == at_version(plain_user("dave"), 1));
  CHECK(s->user_ids() == std::vector<std::string>{"alice", "bob", "carol", "dave"});
  CHECK(s->load_catalog().plans == expected_plans);
}

TEST_CASE("a load answers in the order asked, nothing for unknown users, with the store's clock",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  s->seed(test_catalog(), {plain_user("alice"), plain_user("bob")});

  const loaded_users loaded = s->load({"nobody", "bob", "ghost", "alice", "nobody"});
  REQUIRE(loaded.states.size() == 5);
  CHECK_FALSE(loaded.states[0].has_value());
  REQUIRE(loaded.states[1].has_value());
  CHECK(loaded.states[1]->u.id == "bob");
  CHECK_FALSE(loaded.states[2].has_value());
  REQUIRE(loaded.states[3].has_value());
  CHECK(loaded.states[3]->u.id == "alice");
  CHECK_FALSE(loaded.states[4].has_value());
  CHECK(s->load({}).states.empty());

  // The store's clock is the wall clock's milliseconds (Redis TIME on loopback: the same host).
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  CHECK(loaded.now_ms > wall - 60'000);
  CHECK(loaded.now_ms < wall + 60'000);

  std::int64_t previous = loaded.now_ms;
  for (int i = 0; i < 50; ++i) {
    const std::int64_t now = s->load({"alice"}).now_ms;
    CAPTURE(i, previous, now);
    CHECK(now >= previous);
    previous = now;
  }
}

TEST_CASE("a new user's commit loads back exactly at version 1 and a second create conflicts",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state erin = full_user("erin");
  const stream first = stream_of("erin", "s1", now + 90'000);
  // A stream of another user's id is kept as it is (the codec spells the owner out then).
  stream other = stream_of("frank", "s2", now + 60'000);
  erin.streams = {first, other};
  erin.starts = {start_for("r1", first), denied_start("r2", now - 5)};
  erin.seq = 41;
  REQUIRE(commit_one(*s, commit_of(erin, {}, now + 60'000, {"r1", "r2"})) ==
          commit_status::committed);
  CHECK(load_one(*s, "erin") == at_version(erin, 1));
  CHECK(s->user_ids() == std::vector<std::string>{"erin"});

  // Created twice from nothing (two workers creating one user): the second is refused.
  core::user_state again = plain_user("erin");
  CHECK(commit_one(*s, commit_of(again, {audit_line("erin", now, "allowed", "r9")})) ==
        commit_status::conflict);
  CHECK(load_one(*s, "erin") == at_version(erin, 1));
  CHECK(s->recent_audit("erin", 10).empty());
}

TEST_CASE("a commit from a stale version is refused and changes nothing", "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state v1 = full_user("gina");
  const std::vector<audit_entry> first_audit = {audit_line("gina", now, "allowed", "r1", "s1")};
  REQUIRE(commit_one(*s, commit_of(v1, first_audit)) == commit_status::committed);
  core::user_state v2 = load_one(*s, "gina");
  REQUIRE(v2.version == 1);
  v2.seq = 1;
  v2.u.name = "Gina at version 2";
  const std::vector<audit_entry> second_audit = {audit_line("gina", now + 1, "stopped", "", "s1")};
  REQUIRE(commit_one(*s, commit_of(v2, second_audit)) == commit_status::committed);
  const core::user_state stored = load_one(*s, "gina");
  REQUIRE(stored == at_version(v2, 2));

  // From the version before (a worker that decided on what it loaded earlier), from a version the
  // store never had, and from nothing: each is refused, and nothing of it is written, not even
  // the lease index entry.
  for (const std::uint64_t stale_version : {std::uint64_t{1}, std::uint64_t{3}, std::uint64_t{0}}) {
    CAPTURE(stale_version);
    core::user_state stale = at_version(v2, stale_version);
    stale.u.name = "Gina, decided on a stale state";
    stale.seq = 99;
    stale.streams = {stream_of("gina", "s9", now - 1'000)};
    CHECK(commit_one(*s, commit_of(stale, {audit_line("gina", now + 2, "allowed", "r9", "s9")},
                                   now - 1'000)) == commit_status::conflict);
    CHECK(load_one(*s, "gina") == stored);
    CHECK(shown(s->recent_audit("gina", 10)) ==
          newest_first({first_audit[0], second_audit[0]}, 10));
    CHECK_FALSE(named_due(*s, "gina", now));
  }

  // In one batch with users whose commits are current (on one Redis server, one script call for
  // all of them): only the stale one is refused, in its place in the answer.
  core::user_state stale = at_version(v2, 1);
  stale.u.name = "Gina, stale again";
  core::user_state ivy = plain_user("ivy");
  core::user_state gina = stored;
  gina.u.name = "Gina at version 3";
  const std::vector<commit_status> mixed =
      s->commit({commit_of(ivy), commit_of(stale), commit_of(gina)});
  CHECK(mixed == std::vector<commit_status>{commit_status::committed, commit_status::conflict,
                                            commit_status::committed});
  CHECK(load_one(*s, "gina") == at_version(gina, 3));
  CHECK(load_one(*s, "ivy") == at_version(ivy, 1));
}

TEST_CASE("two workers committing one user from the same loaded version: exactly one commits",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto a = ts.open();

  if (ts.sqlite()) {
    // SQLite allows no second worker: its file has one owner, so the second open is refused
    // while the first store lives, and succeeds once it is closed.
    CHECK_THROWS_AS(ts.open(), store_in_use);
    a.reset();
    CHECK_NOTHROW(ts.open());
    return;
  }

  auto b = ts.open();
  REQUIRE(commit_one(*a, commit_of(plain_user("dave"))) == commit_status::committed);

  SECTION("one after the other: the second is refused and finds the first's state") {
    core::user_state on_a = load_one(*a, "dave");
    core::user_state on_b = load_one(*b, "dave");
    REQUIRE(on_a.version == on_b.version);
    on_a.u.name = "decided by A";
    on_b.u.name = "decided by B";
    CHECK(commit_one(*a, commit_of(on_a, {audit_line("dave", 1, "allowed", "ra")})) ==
          commit_status::committed);
    CHECK(commit_one(*b, commit_of(on_b, {audit_line("dave", 2, "allowed", "rb")})) ==
          commit_status::conflict);
    CHECK(load_one(*b, "dave") == at_version(on_a, 2));
    CHECK(shown(b->recent_audit("dave", 10)) ==
          newest_first({audit_line("dave", 1, "allowed", "ra")}, 10));
  }

  SECTION("at the same time, round after round: one of the two commits each round") {
    constexpr int rounds = 25;
    std::barrier in_step(2);
    std::array<std::vector<commit_status>, 2> answers;
    std::array<std::exception_ptr, 2> failures;
    const auto worker = [&](store& mine, std::size_t who) {
      try {
        for (int round = 0; round < rounds; ++round) {
          auto loaded = mine.load({"dave"});
          // Both have loaded the same version before either commits.
          in_step.arrive_and_wait();
          core::user_state next = *loaded.states.at(0);
          next.u.name = "round " + std::to_string(round) + " by " + std::to_string(who);
          ++next.seq;
          answers[who].push_back(
              mine.commit({commit_of(next, {audit_line("dave", round, "allowed", next.u.name)})})
                  .at(0));
          // Both have committed before either loads for the next round.
          in_step.arrive_and_wait();
        }
      } catch (...) {
        failures[who] = std::current_exception();
        in_step.arrive_and_drop();
      }
    };
    std::thread first(worker, std::ref(*a), 0);
    std::thread second(worker, std::ref(*b), 1);
    first.join();
    second.join();
    for (const std::exception_ptr& failure : failures)
      if (failure) std::rethrow_exception(failure);
    REQUIRE(answers[0].size() == rounds);
    REQUIRE(answers[1].size() == rounds);
    std::vector<std::string> winners;
    for (int round = 0; round < rounds; ++round) {
      CAPTURE(round);
      const auto r = static_cast<std::size_t>(round);
      CHECK((answers[0][r] == commit_status::committed) !=
            (answers[1][r] == commit_status::committed));
      winners.push_back("round " + std::to_string(round) + " by " +
                        (answers[0][r] == commit_status::committed ? "0" : "1"));
    }
    const core::user_state last = load_one(*a, "dave");
    CHECK(last.version == 1 + rounds);
    CHECK(last.seq == rounds);
    CHECK(last.u.name == winners.back());
    // One audit line per round, the winner's.
    std::vector<std::string> audit_requests;
    for (const audit_entry& e : a->recent_audit("dave", 100))
      audit_requests.push_back(e.request_id);
    std::reverse(winners.begin(), winners.end());
    CHECK(audit_requests == winners);
  }
}

TEST_CASE("a batch of commits mixing conflicting and fresh users is answered per user in order",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();

  // Enough users to land on every master of a cluster.
  constexpr int existing = 12;
  std::vector<core::user_state> before;
  for (int i = 0; i < existing; ++i) before.push_back(plain_user("u" + std::to_string(i)));
  s->seed(test_catalog(), before);

  std::vector<user_commit> batch;
  std::vector<commit_status> expected;
  std::vector<core::user_state> after;  // what each user of the batch should hold afterwards
  for (int i = 0; i < existing; ++i) {
    const std::string id = "u" + std::to_string(i);
    core::user_state changed = at_version(before[static_cast<std::size_t>(i)], 1);
    changed.u.name = "changed " + id;
    changed.seq = static_cast<std::uint64_t>(i) + 1;
    switch (i % 3) {
      case 0:  // decided on a version the store moved past (or never had)
        changed.version = i % 2 == 0 ? 0 : 5;
        expected.push_back(commit_status::conflict);
        after.push_back(at_version(before[static_cast<std::size_t>(i)], 1));
        break;
      default:
        expected.push_back(commit_status::committed);
        after.push_back(at_version(changed, 2));
        break;
    }
    batch.push_back(commit_of(changed, {audit_line(id, i, "allowed", "r" + id)}));
    // A new user after each existing one.
    const core::user_state fresh = plain_user("n" + std::to_string(i));
    batch.push_back(commit_of(fresh, {audit_line(fresh.u.id, i, "allowed", "r" + fresh.u.id)}));
    expected.push_back(commit_status::committed);
    after.push_back(at_version(fresh, 1));
  }

  const std::vector<commit_status> answers = s->commit(batch);
  REQUIRE(answers.size() == batch.size());
  std::vector<std::string> ids;
  for (const user_commit& c : batch) ids.push_back(c.state.u.id);
  const loaded_users loaded = s->load(ids);
  REQUIRE(loaded.states.size() == ids.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    CAPTURE(i, ids[i]);
    CHECK(answers[i] == expected[i]);
    REQUIRE(loaded.states[i].has_value());
    CHECK(*loaded.states[i] == after[i]);
    // The audit line of a refused commit is not written; a committed one's is.
    CHECK(s->recent_audit(ids[i], 10).size() == (expected[i] == commit_status::committed ? 1 : 0));
  }
  CHECK(s->commit({}).empty());
}

TEST_CASE("the audit trail gets each commit's lines, newest first, per user",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  std::vector<audit_entry> appended;
  const auto commit_with = [&](core::user_state state, std::vector<audit_entry> lines) {
    const commit_status answer = commit_one(*s, commit_of(std::move(state), lines));
    if (answer == commit_status::committed)
      appended.insert(appended.end(), lines.begin(), lines.end());
    return answer;
  };

  core::user_state alice = plain_user("alice");
  REQUIRE(commit_with(alice, {audit_line("alice", now, "allowed", "r1", "s1"),
                              audit_line("alice", now, "denied", "r2", "", "limit_reached")}) ==
          commit_status::committed);
  alice.version = 1;
  REQUIRE(commit_with(alice, {audit_line("alice", now + 10, "stopped", "", "s1")}) ==
          commit_status::committed);
  // A commit without lines appends none.
  alice.version = 2;
  REQUIRE(commit_with(alice, {}) == commit_status::committed);
  alice.version = 3;
  REQUIRE(commit_with(alice, {audit_line("alice", now + 20, "allowed", "r3", "s3"),
                              audit_line("alice", now + 20, "evicted", "", "s3"),
                              audit_line("alice", now + 21, "expired", "", "s4")}) ==
          commit_status::committed);
  // Refused: its lines are not written.
  alice.version = 1;
  REQUIRE(commit_with(alice, {audit_line("alice", now + 30, "allowed", "r-stale", "s-stale")}) ==
          commit_status::conflict);

  core::user_state bob = plain_user("bob");
  const std::vector<audit_entry> bob_lines = {audit_line("bob", now + 5, "allowed", "rb", "sb")};
  REQUIRE(commit_one(*s, commit_of(bob, bob_lines)) == commit_status::committed);

  REQUIRE(appended.size() == 6);
  CHECK(shown(s->recent_audit("alice", 100)) == newest_first(appended, 100));
  for (const int limit : {1, 2, 5, 6, 7}) {
    CAPTURE(limit);
    CHECK(shown(s->recent_audit("alice", limit)) ==
          newest_first(appended, static_cast<std::size_t>(limit)));
  }
  CHECK(s->recent_audit("alice", 0).empty());
  CHECK(shown(s->recent_audit("bob", 100)) == shown(bob_lines));
  CHECK(s->recent_audit("nobody", 100).empty());
}

TEST_CASE("the lease index names a user whose lease is due, not one whose lease is ahead or gone",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state lapsed = plain_user("lapsed");
  lapsed.streams = {stream_of("lapsed", "s1", now - 1'000)};
  core::user_state ahead = plain_user("ahead");
  ahead.streams = {stream_of("ahead", "s2", now + 3'600'000)};
  core::user_state ended = plain_user("ended");
  ended.streams = {stream_of("ended", "s3", now - 500)};
  core::user_state idle = plain_user("idle");
  const std::vector<commit_status> answers =
      s->commit({commit_of(lapsed, {}, now - 1'000), commit_of(ahead, {}, now + 3'600'000),
                 commit_of(ended, {}, now - 500), commit_of(idle)});
  REQUIRE(answers == std::vector<commit_status>(4, commit_status::committed));

  CHECK(named_due(*s, "lapsed", now));
  CHECK(named_due(*s, "ended", now));
  CHECK_FALSE(named_due(*s, "ahead", now));
  CHECK_FALSE(named_due(*s, "idle", now));
  // Due by a time past its expiry, the one ahead is named too.
  CHECK(named_due(*s, "ahead", now + 3'600'001));
  for (std::size_t call = 0; call < due_calls(); ++call) CHECK(s->due_users(now, 1).size() <= 1);
  CHECK(s->due_users(now, 0).empty());

  // Its stream ended: the commit has no next expiry, and the index forgets the user.
  ended.version = 1;
  ended.streams.clear();
  REQUIRE(commit_one(*s, commit_of(ended, {audit_line("ended", now, "expired", "", "s3")})) ==
          commit_status::committed);
  CHECK_FALSE(named_due(*s, "ended", now + 3'600'001));
  // A renewed lease moves the user ahead.
  lapsed.version = 1;
  lapsed.streams[0].expires_at_ms = now + 3'600'000;
  REQUIRE(commit_one(*s, commit_of(lapsed, {}, now + 3'600'000)) == commit_status::committed);
  CHECK_FALSE(named_due(*s, "lapsed", now));
  CHECK(named_due(*s, "lapsed", now + 3'600'001));
  // A later stream leaves the earliest expiry as loaded: the entry stays as the last commit wrote
  // it, whether or not the store writes it again.
  lapsed.version = 2;
  lapsed.streams.push_back(stream_of("lapsed", "s4", now + 7'200'000));
  user_commit same = commit_of(lapsed, {}, now + 3'600'000);
  same.same_expiry_as_loaded = true;
  REQUIRE(commit_one(*s, same) == commit_status::committed);
  CHECK_FALSE(named_due(*s, "lapsed", now));
  CHECK(named_due(*s, "lapsed", now + 3'600'001));
}

TEST_CASE("a removed user is gone from the store, its trail and indexes; a stale removal conflicts",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state alice = plain_user("alice");
  alice.streams = {stream_of("alice", "s1", now - 1'000)};
  user_commit created = commit_of(alice, {audit_line("alice", now, "allowed", "r1", "s1")},
                                  now - 1'000);
  created.streams_delta = 1;
  REQUIRE(s->commit({created, commit_of(plain_user("bob"))}) ==
          std::vector<commit_status>(2, commit_status::committed));
  REQUIRE(named_due(*s, "alice", now));

  user_commit removal = commit_of(alice);  // at version 0: stale
  removal.remove = true;
  removal.streams_delta = -1;
  CHECK(commit_one(*s, removal) == commit_status::conflict);
  CHECK(load_one(*s, "alice").streams.size() == 1);

  removal.state.version = 1;
  REQUIRE(commit_one(*s, removal) == commit_status::committed);
  const loaded_users after = s->load({"alice", "bob"});
  CHECK_FALSE(after.states[0].has_value());
  CHECK(after.states[1].has_value());
  CHECK(s->recent_audit("alice", 10).empty());
  CHECK(s->user_ids() == std::vector<std::string>{"bob"});
  CHECK_FALSE(named_due(*s, "alice", now));
  if (const auto active = s->active_streams()) CHECK(*active == 0);

  // The id is free again: a new user may take it.
  REQUIRE(commit_one(*s, commit_of(plain_user("alice"))) == commit_status::committed);
  CHECK(load_one(*s, "alice").version == 1);
  CHECK(load_one(*s, "alice").streams.empty());
}

TEST_CASE("a request id decided in a commit names its user and an unknown one names nobody",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;

  // As the decision core commits them: the new request ids are remembered in the state too.
  core::user_state alice = plain_user("alice");
  const stream granted = stream_of("alice", "sa", now + 90'000);
  alice.streams = {granted};
  alice.starts = {start_for("ra-1", granted)};
  core::user_state bob = plain_user("bob");
  bob.starts = {denied_start("rb-1", now)};
  REQUIRE(s->commit({commit_of(alice, {}, granted.expires_at_ms, {"ra-1"}),
                     commit_of(bob, {}, std::nullopt, {"rb-1"})}) ==
          std::vector<commit_status>(2, commit_status::committed));

  CHECK(s->request_owner("ra-1") == std::optional<std::string>("alice"));
  CHECK(s->request_owner("rb-1") == std::optional<std::string>("bob"));
  CHECK(s->request_owner("r-unknown") == std::nullopt);

  alice.version = 1;
  alice.starts.push_back(denied_start("ra-2", now + 1));
  REQUIRE(commit_one(*s, commit_of(alice, {}, granted.expires_at_ms, {"ra-2"})) ==
          commit_status::committed);
  CHECK(s->request_owner("ra-2") == std::optional<std::string>("alice"));
  CHECK(s->request_owner("ra-1") == std::optional<std::string>("alice"));
}

TEST_CASE("a user's starts come back beside its state, the newest of them past the cap",
          "[store][conformance][starts]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::int64_t now = s->load({}).now_ms;
  REQUIRE(commit_one(*s, commit_of(plain_user("hana"))) == commit_status::committed);

  // Each commit adds one start, as the decision core commits them; the state itself stays small.
  constexpr std::size_t cap = core::remembered_starts_per_user;
  const std::size_t made = cap + cap / 8 + 1;
  core::user_state hana = load_one(*s, "hana");
  for (std::size_t i = 0; i < made; ++i) {
    const std::string id = "rh-" + std::to_string(i);
    hana.starts.push_back(denied_start(id, now + static_cast<std::int64_t>(i)));
    REQUIRE(commit_one(*s, commit_of(hana, {}, std::nullopt, {id})) == commit_status::committed);
    ++hana.version;
  }
  const core::user_state loaded = load_one(*s, "hana");
  CHECK(loaded.version == hana.version);
  REQUIRE(loaded.starts.size() == cap);
  CHECK(loaded.starts.front() == hana.starts[made - cap]);
  CHECK(loaded.starts.back() == hana.starts.back());
  CHECK(s->request_owner("rh-" + std::to_string(made - 1)) == std::optional<std::string>("hana"));
  if (ts.sqlite()) CHECK_FALSE(s->request_owner("rh-0"));  // Redis forgets it by its TTL

  // Removed with the user.
  core::user_state gone = loaded;
  REQUIRE(commit_one(*s, [&] {
            user_commit c = commit_of(gone);
            c.remove = true;
            return c;
          }()) == commit_status::committed);
  REQUIRE(commit_one(*s, commit_of(plain_user("hana"))) == commit_status::committed);
  CHECK(load_one(*s, "hana").starts.empty());
}

TEST_CASE("the dataset id is made once and is the same for every open of the store",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  const std::string id = s->dataset_id();
  CHECK_FALSE(id.empty());
  s->seed(test_catalog(), {plain_user("alice")});
  CHECK(s->dataset_id() == id);

  if (ts.sqlite()) {
    s.reset();
    auto reopened = ts.open();
    CHECK(reopened->dataset_id() == id);
    CHECK(reopened->seeded());
  } else {
    // Two workers share it, and a worker opening later finds it too.
    auto other = ts.open();
    CHECK(other->dataset_id() == id);
    CHECK(other->seeded());
    s.reset();
    auto later = ts.open();
    CHECK(later->dataset_id() == id);
  }

  // Another deployment's store is another dataset.
  test_store elsewhere(kind);
  CHECK(elsewhere.open()->dataset_id() != id);
}

TEST_CASE("what a store committed survives a restart: state, version, audit and indexes",
          "[store][conformance]") {
  const std::string kind = GENERATE("sqlite", "redis", "cluster");
  CAPTURE(kind);
  test_store ts(kind);
  auto s = ts.open();
  s->seed(test_catalog(), {plain_user("bob")});
  const std::string dataset = s->dataset_id();
  const std::int64_t now = s->load({}).now_ms;

  core::user_state alice = full_user("alice");
  std::vector<audit_entry> appended = {audit_line("alice", now, "allowed", "r1", "s1")};
  const stream s1 = stream_of("alice", "s1", now + 90'000);
  alice.streams = {s1};
  alice.starts = {start_for("r1", s1)};
  alice.seq = 1;
  REQUIRE(commit_one(*s, commit_of(alice, appended, s1.expires_at_ms, {"r1"})) ==
          commit_status::committed);
  // Then a lease already lapsed, which the index must still name after the restart (its next
  // expiry is its earliest stream's, as the decision core computes it).
  alice.version = 1;
  alice.seq = 2;
  const stream s2 = stream_of("alice", "s2", now - 2'000);
  alice.streams.push_back(s2);
  alice.starts.push_back(start_for("r2", s2));
  const audit_entry second = audit_line("alice", now + 1, "allowed", "r2", "s2");
  REQUIRE(commit_one(*s, commit_of(alice, {second}, s2.expires_at_ms, {"r2"})) ==
          commit_status::committed);
  appended.push_back(second);
  const core::user_state committed = at_version(alice, 2);

  ts.restart_servers();
  if (ts.sqlite()) {
    s.reset();
    s = ts.open();
  }

  // The worker's own store object carries on (on Redis it reconnects), and a new one finds the
  // same.
  const core::user_state after = after_reconnect([&] { return load_one(*s, "alice"); });
  CHECK(after == committed);
  auto fresh = ts.sqlite() ? nullptr : ts.open();
  for (store* view : {s.get(), fresh.get()}) {
    if (view == nullptr) continue;
    CHECK(load_one(*view, "alice") == committed);
    CHECK(shown(view->recent_audit("alice", 10)) == newest_first(appended, 10));
    CHECK(view->seeded());
    CHECK(view->dataset_id() == dataset);
    CHECK(view->user_ids() == std::vector<std::string>{"alice", "bob"});
    CHECK(view->request_owner("r1") == std::optional<std::string>("alice"));
    CHECK(view->request_owner("r2") == std::optional<std::string>("alice"));
    CHECK(named_due(*view, "alice", now));
  }

  // And it commits on from the version it kept (on Redis: with its script loaded again).
  core::user_state next = after;
  next.seq = 3;
  next.streams.pop_back();
  const audit_entry third = audit_line("alice", now + 2, "expired", "", "s2");
  CHECK(commit_one(*s, commit_of(next, {third}, s1.expires_at_ms)) == commit_status::committed);
  CHECK(load_one(*s, "alice") == at_version(next, 3));
  appended.push_back(third);
  CHECK(shown(s->recent_audit("alice", 10)) == newest_first(appended, 10));
}

}  // namespace streamgate
