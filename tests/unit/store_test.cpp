#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/unit/temp_dir.hpp"
#include "worker/audit_trail.hpp"
#include "worker/sqlite_store.hpp"

namespace streamgate {
namespace {

stream make_stream(std::string id, std::string user_id, std::int64_t started_at_ms) {
  return {std::move(id), std::move(user_id), "v01", "phone", started_at_ms, started_at_ms + 90'000};
}

verdict allowed_verdict(std::string request_id, const stream& granted) {
  verdict v;
  v.request_id = std::move(request_id);
  v.user_id = granted.user_id;
  v.video_id = granted.video_id;
  v.session_id = granted.session_id;
  v.allowed = true;
  v.granted = granted;
  v.active = 1;
  v.limit = 3;
  v.decided_at_ms = granted.started_at_ms;
  return v;
}

verdict denied_verdict(std::string request_id, std::vector<stream> in_use,
                       std::int64_t decided_at_ms) {
  verdict v;
  v.request_id = std::move(request_id);
  v.user_id = in_use.front().user_id;
  v.video_id = "v02";
  v.session_id = "tablet";
  v.active = static_cast<int>(in_use.size());
  v.limit = static_cast<int>(in_use.size());
  v.reason = "limit_reached";
  v.streams = std::move(in_use);
  v.decided_at_ms = decided_at_ms;
  return v;
}

void check_same(const stream& actual, const stream& expected) {
  CHECK(actual.stream_id == expected.stream_id);
  CHECK(actual.user_id == expected.user_id);
  CHECK(actual.video_id == expected.video_id);
  CHECK(actual.session_id == expected.session_id);
  CHECK(actual.started_at_ms == expected.started_at_ms);
  CHECK(actual.expires_at_ms == expected.expires_at_ms);
}

void check_same(const verdict& actual, const verdict& expected) {
  CHECK(actual.request_id == expected.request_id);
  CHECK(actual.user_id == expected.user_id);
  CHECK(actual.video_id == expected.video_id);
  CHECK(actual.session_id == expected.session_id);
  CHECK(actual.allowed == expected.allowed);
  CHECK(actual.active == expected.active);
  CHECK(actual.limit == expected.limit);
  CHECK(actual.reason == expected.reason);
  CHECK(actual.decided_at_ms == expected.decided_at_ms);
  REQUIRE(actual.granted.has_value() == expected.granted.has_value());
  if (expected.granted) check_same(*actual.granted, *expected.granted);
  REQUIRE(actual.streams.size() == expected.streams.size());
  for (std::size_t i = 0; i < expected.streams.size(); ++i)
    check_same(actual.streams[i], expected.streams[i]);
}

std::string journal_mode_of(const std::filesystem::path& file) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &statement, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(statement) == SQLITE_ROW);
  std::string mode = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return mode;
}

}  // namespace

TEST_CASE("a fresh store has no catalog and holds nothing", "[store]") {
  const test::temp_dir dir;
  // A parent that does not exist yet: open() creates it.
  auto store = sqlite_store::open(dir.path() / "var" / "sg.db");

  CHECK_FALSE(store.has_catalog());
  const stored_state state = store.load();
  CHECK(state.users.empty());
  CHECK(state.videos.empty());
  CHECK(state.streams.empty());
  CHECK(state.verdicts.empty());
}

TEST_CASE("a commit is read back exactly after the store is reopened", "[store]") {
  const test::temp_dir dir;
  const auto file = dir.path() / "sg.db";
  const stream first = make_stream("s_1", "alice", 1'700'000'000'000);
  const stream second = make_stream("s_2", "alice", 1'700'000'000'500);
  const verdict granted = allowed_verdict("r_1", first);
  const verdict refused = denied_verdict("r_2", {first, second}, 1'700'000'001'000);
  {
    auto store = sqlite_store::open(file);
    store.commit({
        user_saved{{"alice", "Alice Martin", std::nullopt, std::nullopt}},
        user_saved{{"dave", "Dave Lindqvist", 1, policy::evict_oldest}},
        video_saved{{"v01", "Northbound", 7320}},
        video_saved{{"v02", "Copper Sky", 7020}},
        // Saved newest first: load() still returns the oldest stream first.
        stream_saved{second},
        stream_saved{first},
        verdict_saved{std::make_shared<const verdict>(refused)},
        verdict_saved{std::make_shared<const verdict>(granted)},
    });
  }

  auto store = sqlite_store::open(file);
  CHECK(store.has_catalog());
  const stored_state state = store.load();

  REQUIRE(state.users.size() == 2);
  CHECK(state.users[0].id == "alice");
  CHECK(state.users[0].name == "Alice Martin");
  CHECK_FALSE(state.users[0].max_streams.has_value());
  CHECK_FALSE(state.users[0].policy_override.has_value());
  CHECK(state.users[1].id == "dave");
  CHECK(state.users[1].name == "Dave Lindqvist");
  CHECK(state.users[1].max_streams == 1);
  CHECK(state.users[1].policy_override == policy::evict_oldest);

  REQUIRE(state.videos.size() == 2);
  CHECK(state.videos[0].id == "v01");
  CHECK(state.videos[0].title == "Northbound");
  CHECK(state.videos[0].duration_seconds == 7320);
  CHECK(state.videos[1].id == "v02");

  REQUIRE(state.streams.size() == 2);
  check_same(state.streams[0], first);
  check_same(state.streams[1], second);

  // Oldest decision first, whatever the order of saving.
  REQUIRE(state.verdicts.size() == 2);
  check_same(state.verdicts[0], granted);
  check_same(state.verdicts[1], refused);
}

TEST_CASE("the changes of one commit apply in order", "[store]") {
  const test::temp_dir dir;
  const auto file = dir.path() / "sg.db";
  auto store = sqlite_store::open(file);
  const stream started = make_stream("s_1", "alice", 1'700'000'000'000);

  SECTION("a stream saved then removed in one commit is gone") {
    store.commit({stream_saved{started}, stream_removed{"s_1"}});
    CHECK(store.load().streams.empty());
  }
  SECTION("a stream saved twice keeps its last lease") {
    stream renewed = started;
    renewed.expires_at_ms += 30'000;
    store.commit({stream_saved{started}, stream_saved{renewed}});
    const auto streams = store.load().streams;
    REQUIRE(streams.size() == 1);
    check_same(streams[0], renewed);
  }
  SECTION("a user saved twice keeps the last name and limit") {
    store.commit({user_saved{{"alice", "Alice", std::nullopt, std::nullopt}},
                  user_saved{{"alice", "Alice Martin", 5, std::nullopt}}});
    const auto users = store.load().users;
    REQUIRE(users.size() == 1);
    CHECK(users[0].name == "Alice Martin");
    CHECK(users[0].max_streams == 5);
  }
  SECTION("a requestId decided anew keeps the latest verdict") {
    verdict later = allowed_verdict("r_1", started);
    later.decided_at_ms += 600'000;
    store.commit(
        {verdict_saved{std::make_shared<const verdict>(allowed_verdict("r_1", started))}});
    store.commit({verdict_saved{std::make_shared<const verdict>(later)}});
    const auto verdicts = store.load().verdicts;
    REQUIRE(verdicts.size() == 1);
    CHECK(verdicts[0].decided_at_ms == later.decided_at_ms);
  }
}

TEST_CASE("forgotten verdicts and removed streams are gone after a reopen", "[store]") {
  const test::temp_dir dir;
  const auto file = dir.path() / "sg.db";
  const stream kept = make_stream("s_1", "alice", 1'700'000'000'000);
  const stream stopped = make_stream("s_2", "alice", 1'700'000'000'100);
  {
    auto store = sqlite_store::open(file);
    store.commit({stream_saved{kept}, stream_saved{stopped},
                  verdict_saved{std::make_shared<const verdict>(allowed_verdict("r_old", kept))},
                  verdict_saved{
                      std::make_shared<const verdict>(allowed_verdict("r_new", stopped))}});
    store.commit({verdict_forgotten{"r_old"}, stream_removed{"s_2"}});
  }

  const stored_state state = sqlite_store::open(file).load();
  REQUIRE(state.verdicts.size() == 1);
  CHECK(state.verdicts[0].request_id == "r_new");
  REQUIRE(state.streams.size() == 1);
  CHECK(state.streams[0].stream_id == "s_1");
}

TEST_CASE("an empty commit changes nothing", "[store]") {
  const test::temp_dir dir;
  auto store = sqlite_store::open(dir.path() / "sg.db");
  store.commit({});
  CHECK_FALSE(store.has_catalog());
}

TEST_CASE("the store file is in WAL mode", "[store]") {
  const test::temp_dir dir;
  const auto file = dir.path() / "sg.db";
  { const auto store = sqlite_store::open(file); }
  // WAL is a property of the file, so a connection of its own sees it.
  CHECK(journal_mode_of(file) == "wal");
}

TEST_CASE("a store written by a newer schema is refused", "[store]") {
  const test::temp_dir dir;
  const auto file = dir.path() / "sg.db";
  { const auto store = sqlite_store::open(file); }
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  CHECK_THROWS_AS(sqlite_store::open(file), sqlite_error);
}

TEST_CASE("audit entries commit with the batch and read back newest first per user",
          "[store][audit]") {
  const test::temp_dir dir;
  const auto file = dir.path() / "sg.db";
  const stream s1 = make_stream("s_1", "alice", 1'000);
  {
    auto store = sqlite_store::open(file);
    const std::vector<change> changes{
        stream_saved{s1},
        verdict_saved{std::make_shared<const verdict>(allowed_verdict("r_1", s1))}};
    const std::vector<event> events{{ended_event{"s_0", "alice", end_reason::evicted}, 1},
                                    {ended_event{"s_9", "bob", end_reason::expired}, 1}};
    store.commit(changes, audit_entries_of(changes, events, 2'000));
  }
  const auto store = sqlite_store::open(file);
  const std::vector<audit_entry> alice = store.recent_audit("alice", 100);
  REQUIRE(alice.size() == 2);
  CHECK(alice[0].type == "evicted");
  CHECK(alice[0].stream_id == "s_0");
  CHECK(alice[0].at_ms == 2'000);
  CHECK(alice[0].request_id.empty());
  CHECK(alice[1].type == "allowed");
  CHECK(alice[1].request_id == "r_1");
  CHECK(alice[1].stream_id == "s_1");
  CHECK(alice[1].video_id == "v01");
  CHECK(alice[1].at_ms == 1'000);
  CHECK(store.recent_audit("alice", 1).size() == 1);
  REQUIRE(store.recent_audit("bob", 10).size() == 1);
  CHECK(store.recent_audit("bob", 10)[0].type == "expired");
  CHECK(store.recent_audit("carol", 10).empty());
}

TEST_CASE("a store of schema version 1 gains the audit table on open", "[store][audit]") {
  const test::temp_dir dir;
  const auto file = dir.path() / "sg.db";
  { const auto store = sqlite_store::open(file); }
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db,
                         "DROP TABLE audit; ALTER TABLE users DROP COLUMN token_hash; "
                         "PRAGMA user_version = 1",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = sqlite_store::open(file);
  store.commit({}, {audit_entry{"alice", 5, "stop_all", "s_1", "", "", ""}});
  CHECK(store.recent_audit("alice", 10).size() == 1);
}

TEST_CASE("a store of schema version 2 gains token hashes and keeps its users", "[store][auth]") {
  const test::temp_dir dir;
  const auto file = dir.path() / "sg.db";
  {
    auto store = sqlite_store::open(file);
    store.commit({user_saved{user{"alice", "Alice", 2, std::nullopt}}});
  }
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    REQUIRE(sqlite3_exec(db, "ALTER TABLE users DROP COLUMN token_hash; PRAGMA user_version = 2",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  const std::string hash(64, 'a');
  {
    auto store = sqlite_store::open(file);
    const stored_state state = store.load();
    REQUIRE(state.users.size() == 1);
    CHECK(state.users[0].id == "alice");
    CHECK(state.users[0].max_streams == 2);
    CHECK(state.users[0].token_hash.empty());
    store.commit({user_saved{user{"bob", "Bob", std::nullopt, std::nullopt, hash}}});
  }
  const stored_state reopened = sqlite_store::open(file).load();
  REQUIRE(reopened.users.size() == 2);
  CHECK(reopened.users[0].token_hash.empty());
  CHECK(reopened.users[1].token_hash == hash);
}

}  // namespace streamgate
