// The SQLite store's schema migrations (worker/store/sqlite/sqlite_schema.cpp): every older
// schema opens as the current one, keeping its data and dataset id; a newer one is refused.

#include "common/wire/wire_buffer.hpp"
#include "sqlite_store_test_support.hpp"
#include "worker/store/sqlite/log_record.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate::sqlite_test {

constexpr const char* v1_tables = R"sql(
  CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, max_streams INTEGER,
    policy TEXT) WITHOUT ROWID;
  CREATE TABLE videos (id TEXT PRIMARY KEY, title TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE streams (stream_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,
    video_id TEXT NOT NULL, session_id TEXT NOT NULL, started_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE verdicts (request_id TEXT PRIMARY KEY, user_id TEXT NOT NULL,
    record TEXT NOT NULL, decided_at_ms INTEGER NOT NULL);
)sql";
constexpr const char* v2_audit = R"sql(
  CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, user_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL, type TEXT NOT NULL, stream_id TEXT, request_id TEXT,
    video_id TEXT, reason TEXT);
  CREATE INDEX audit_by_user ON audit (user_id, id);
)sql";
constexpr const char* v3_token_hash = "ALTER TABLE users ADD COLUMN token_hash TEXT";

TEST_CASE("a store of schema 1, 2 or 3 is migrated keeping users, streams, videos and audit",
          "[sqlite_store]") {
  const int old_version = GENERATE(1, 2, 3);
  CAPTURE(old_version);
  test::temp_dir dir;
  const auto file = dir.path() / "old.db";
  {
    sqlite_db db(file.string());
    db.exec(v1_tables);
    if (old_version >= 2) db.exec(v2_audit);
    if (old_version >= 3) db.exec(v3_token_hash);
    db.exec(("PRAGMA user_version = " + std::to_string(old_version)).c_str());
    db.exec(
        "INSERT INTO users (id, name, max_streams, policy) VALUES "
        "('alice', 'Alice', 2, 'evict_oldest'), ('bob', 'Bob', NULL, NULL);"
        "INSERT INTO videos VALUES ('v01', 'One', 10);"
        "INSERT INTO streams VALUES ('s2', 'alice', 'v01', 'tv', 2000, 92000),"
        "  ('s1', 'alice', 'v01', 'phone', 1000, 91000), ('s9', 'ghost', 'v01', 'x', 1, 2);"
        "INSERT INTO verdicts VALUES ('r1', 'alice', '{}', 1000);");
    if (old_version >= 2)
      db.exec(
          "INSERT INTO audit (user_id, at_ms, type, stream_id, request_id) VALUES "
          "('alice', 1000, 'allowed', 's1', 'r1'), ('alice', 2000, 'allowed', 's2', 'r2');");
    if (old_version >= 3) db.exec("UPDATE users SET token_hash = 'abc' WHERE id = 'alice'");
  }

  {
    auto store = sqlite_store::open(file);
    CHECK_FALSE(store->dataset_id().empty());
    CHECK(store->seeded());  // the old worker had loaded its catalog into it
    CHECK(store->user_ids() == std::vector<std::string>{"alice", "bob"});

    const core::user_state alice = loaded_one(*store, "alice");
    CHECK(alice.version == 1);
    CHECK(alice.seq == 0);
    CHECK(alice.starts.empty());
    CHECK(alice.u == user{"alice", "Alice", 2, policy::evict_oldest, std::nullopt,
                          old_version >= 3 ? "abc" : ""});
    CHECK(alice.streams == std::vector<stream>{{"s1", "alice", "v01", "phone", 1000, 91000},
                                               {"s2", "alice", "v01", "tv", 2000, 92000}});
    const core::user_state bob = loaded_one(*store, "bob");
    CHECK(bob.u == user{"bob", "Bob", std::nullopt, std::nullopt, std::nullopt, ""});
    CHECK(bob.streams.empty());
    CHECK(store->due_users(91000, 10) == std::vector<std::string>{"alice"});
    CHECK_FALSE(store->request_owner("r1"));

    const auto catalog = store->load_catalog();
    REQUIRE(catalog.videos.size() == 1);
    CHECK(catalog.videos[0].title == "One");

    const auto audit = store->recent_audit("alice", 10);
    REQUIRE(audit.size() == (old_version >= 2 ? 2u : 0u));
    if (old_version >= 2) {
      CHECK(audit[0].request_id == "r2");
      CHECK(audit[1].request_id == "r1");
    }
    // New lines append after the migrated ones.
    user_commit stopped;
    stopped.state = alice;
    stopped.audit = {audit_line("alice", 3000, "stopped")};
    REQUIRE(store->commit({stopped})[0] == commit_status::committed);
    CHECK(store->recent_audit("alice", 1)[0].type == "stopped");
  }

  CHECK(text_of(file, "PRAGMA user_version") == "8");
  CHECK(text_of(file, schema_objects) ==
        "audit,audit_by_user,meta,plans,starts,starts_by_user,"
        "streams,users,videos");
}

// Schema 4 kept each user's remembered starts inside its state (encoding version 1). This is
// the state a schema-4 worker wrote for alice: one live stream, an allowed and a denied start
// (tests/unit/state_codec_test.cpp decodes the same bytes).
constexpr const char* v4_tables = R"sql(
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE users (id TEXT PRIMARY KEY, version INTEGER NOT NULL, state BLOB NOT NULL)
    WITHOUT ROWID;
  CREATE TABLE videos (id TEXT PRIMARY KEY, title TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE plans (id TEXT PRIMARY KEY, max_streams INTEGER NOT NULL, policy TEXT NOT NULL)
    WITHOUT ROWID;
  CREATE TABLE audit (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, at_ms INTEGER NOT NULL,
    type TEXT NOT NULL, stream_id TEXT, request_id TEXT, video_id TEXT, reason TEXT);
  CREATE INDEX audit_by_user ON audit (user_id, id);
  INSERT INTO meta VALUES ('dataset_id', 'd_v4'), ('seeded', '1');
  PRAGMA user_version = 4;
)sql";
constexpr const char* v4_alice =
    "INSERT INTO users VALUES ('alice', 7, X'"
    "0105616c69636505416c69636500000103735f3100027631027476d00fa0"
    "fe0a0209722d616c6c6f776564027631027476d00f0103735f31a0fe0a00020608722d64656e6965"
    "640276310570686f6e65a01f0000000d6c696d69745f72656163686564060602')";

TEST_CASE("a store of schema 4 keeps its dataset, and each state's starts become rows",
          "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "v4.db";
  {
    sqlite_db db(file.string());
    db.exec(v4_tables);
    db.exec(v4_alice);
  }

  {
    auto store = sqlite_store::open(file);
    CHECK(store->dataset_id() == "d_v4");
    CHECK(store->seeded());
    const core::user_state alice = loaded_one(*store, "alice");
    CHECK(alice.version == 7);
    CHECK(alice.seq == 2);
    CHECK(alice.streams.size() == 1);
    REQUIRE(alice.starts.size() == 2);
    CHECK(alice.starts[0].request_id == "r-allowed");
    CHECK(alice.starts[0].stream_id == "s_1");
    CHECK(alice.starts[1].request_id == "r-denied");
    CHECK(alice.starts[1].reason == "limit_reached");
    CHECK(store->request_owner("r-allowed") == "alice");
    CHECK(store->request_owner("r-denied") == "alice");
  }
  CHECK(text_of(file, "PRAGMA user_version") == "8");
  CHECK(text_of(file, "SELECT count(*) FROM starts") == "2");
  CHECK(text_of(file, "SELECT stream_id || ' ' || made_version FROM streams") == "s_1 7");
  // The state row holds no start any more: written again in encoding version 2.
  CHECK(text_of(file, "SELECT hex(substr(state, 1, 1)) FROM users") == "02");
  CHECK(sqlite_store::open(file)->dataset_id() == "d_v4");
}

// Schema 6 kept each user's live streams inside its state, and its decision log's records
// (format 1) held whole states: what a schema-6 worker that crashed left behind.
constexpr const char* v6_more_tables = R"sql(
  CREATE TABLE starts (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, request_id TEXT NOT NULL,
    decided_at_ms INTEGER NOT NULL, start BLOB NOT NULL);
  CREATE INDEX starts_by_user ON starts (user_id, id);
  CREATE TABLE decision_log (seq INTEGER PRIMARY KEY, record BLOB NOT NULL);
  PRAGMA user_version = 6;
)sql";

std::string format1_record(const core::user_state& state, std::uint64_t version) {
  std::string out;
  wire_writer w(out);
  w.write_byte(1);
  w.write_string(state.u.id);
  w.write_varint(version);
  w.write_bool(false);  // not a removal
  w.write_string(encode_state(state));
  w.write_varint(0);  // starts
  w.write_varint(0);  // audit lines
  return out;
}

TEST_CASE("a store of schema 6 moves each live stream into a row, and folds its old log",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto file = dir.path() / "v6.db";
  core::user_state alice = new_user("alice");
  alice.version = 3;
  alice.streams = {make_stream("s2", "alice", t0 + 20), make_stream("s1", "alice", t0 + 10)};
  core::user_state bob = new_user("bob");
  bob.version = 1;
  bob.streams = {make_stream("b1", "bob", t0 + 5)};
  core::user_state alice_logged = alice;  // committed on top of version 3, never folded
  alice_logged.version = 4;
  alice_logged.streams[1].expires_at_ms = t0 + 50;
  alice_logged.streams.push_back(make_stream("s0", "alice", t0 + 40));
  {
    sqlite_db db(file.string());
    db.exec(v4_tables);
    db.exec(v6_more_tables);
    sqlite_statement insert_user(
        db, "INSERT INTO users (id, version, state) VALUES (?1, ?2, CAST(?3 AS BLOB))");
    for (const core::user_state* state : {&alice, &bob}) {
      const std::string bytes = encode_state(*state);
      insert_user.bind(1, state->u.id);
      insert_user.bind(2, static_cast<std::int64_t>(state->version));
      insert_user.bind(3, bytes);
      insert_user.execute();
    }
    const std::string record = format1_record(alice_logged, 4);
    sqlite_statement append(db, "INSERT INTO decision_log (record) VALUES (CAST(?1 AS BLOB))");
    append.bind(1, record);
    append.execute();
  }

  {
    auto store = sqlite_store::open(file);
    CHECK(store->dataset_id() == "d_v4");
    // In the order each state had them, not by id or by time.
    CHECK(loaded_one(*store, "alice") == alice_logged);
    CHECK(loaded_one(*store, "bob") == bob);
    CHECK(store->due_users(t0 + 5, 10) == std::vector<std::string>{"bob"});
    CHECK(store->due_users(t0 + 20, 10) == std::vector<std::string>{"bob", "alice"});
  }
  CHECK(text_of(file, "PRAGMA user_version") == "8");
  // Folded at open, and dropped: the log is a file of its own now.
  CHECK(text_of(file, "SELECT count(*) FROM sqlite_master WHERE name = 'decision_log'") == "0");
  CHECK(text_of(file,
                "SELECT group_concat(stream_id) FROM (SELECT stream_id FROM streams "
                "ORDER BY user_id, made_version, made_rank)") == "s2,s1,s0,b1");
  // No state row holds a stream any more: each is as long as a state without any.
  CHECK(text_of(file, "SELECT length(state) FROM users WHERE id = 'alice'") ==
        std::to_string(encode_state(alice, /*with_streams=*/false).size()));
}

// The decision log as workers before session 29 kept it: an SQLite file where the folder is now.
void write_sqlite_log(const std::filesystem::path& file, const std::string& dataset_id,
                      const std::vector<logged_record>& records) {
  std::filesystem::remove_all(log_of(file));
  sqlite_db log(log_of(file).string());
  log.exec(
      "PRAGMA journal_mode=WAL;"
      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
      "CREATE TABLE decision_log (seq INTEGER PRIMARY KEY, record BLOB NOT NULL)");
  sqlite_statement meta(log, "INSERT INTO meta (key, value) VALUES ('dataset_id', ?1)");
  meta.bind(1, dataset_id);
  meta.execute();
  sqlite_statement append(log, "INSERT INTO decision_log (seq, record) VALUES (?1, ?2)");
  for (const logged_record& r : records) {
    append.bind(1, r.seq);
    append.bind(2, r.bytes);
    append.execute();
  }
}

TEST_CASE("a decision log an older worker kept in an SQLite file is applied at open, then deleted",
          "[sqlite_store][decision_log]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  std::string dataset_id;
  {
    auto store = sqlite_store::open(file);
    REQUIRE(store->commit({created(new_user("bob"))})[0] == commit_status::committed);
    dataset_id = store->dataset_id();
  }
  // Bob's record (seq 1) the tables hold already; Alice's never folded.
  const user_commit bob_again = created(new_user("bob"));
  const user_commit alice = created(new_user("alice"));
  const std::vector<logged_record> records = {{1, encode_log_record(bob_again, 0)},
                                              {2, encode_log_record(alice, 0)}};

  SECTION("of its dataset") {
    write_sqlite_log(file, dataset_id, records);
    {
      auto store = sqlite_store::open(file);
      CHECK(store->user_ids() == std::vector<std::string>{"alice", "bob"});
      CHECK(loaded_one(*store, "alice").version == 1);
      CHECK(loaded_one(*store, "bob").version == 1);
      // Numbered on after the old log's records.
      REQUIRE(store->commit({created(new_user("carol"))})[0] == commit_status::committed);
      CHECK(logged_records(file).at(0).seq == 3);
    }
    CHECK(std::filesystem::is_directory(log_of(file)));
    CHECK_FALSE(std::filesystem::exists(log_of(file).string() + "-wal"));
    CHECK_FALSE(std::filesystem::exists(log_of(file).string() + "-shm"));
  }
  SECTION("of another dataset, refused") {
    write_sqlite_log(file, "d_other", records);
    CHECK_THROWS_WITH(sqlite_store::open(file),
                      Catch::Contains("holds records of dataset 'd_other'"));
    CHECK(std::filesystem::is_regular_file(log_of(file)));
  }
}

TEST_CASE("a user's starts are trimmed to the newest ones past an eighth over the cap",
          "[sqlite_store][starts]") {
  test::temp_dir dir;
  auto store = sqlite_store::open(dir.path() / "x.db");
  REQUIRE(store->commit({created(new_user("alice"))})[0] == commit_status::committed);
  constexpr std::size_t cap = core::remembered_starts_per_user;
  const std::size_t made = cap + cap / 8 + 1;
  for (std::size_t i = 0; i < made; ++i) {
    core::user_state alice = loaded_one(*store, "alice");
    user_commit c = created(alice);
    core::remembered_start start =
        allowed_start("r" + std::to_string(i), make_stream("s", "alice", t0));
    c.new_starts = {start};
    REQUIRE(store->commit({c})[0] == commit_status::committed);
  }
  const core::user_state alice = loaded_one(*store, "alice");
  REQUIRE(alice.starts.size() == cap);
  CHECK(alice.starts.front().request_id == "r" + std::to_string(made - cap));
  CHECK(alice.starts.back().request_id == "r" + std::to_string(made - 1));
  CHECK_FALSE(store->request_owner("r0"));
  CHECK_FALSE(store->request_owner("r" + std::to_string(made - cap - 1)));
  CHECK(store->request_owner("r" + std::to_string(made - cap)) == "alice");
}

TEST_CASE("starts past the request memory are pruned in steps, with their owners",
          "[sqlite_store][starts]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  constexpr std::int64_t memory = 60'000;
  auto store = sqlite_store::open(file, 1000, memory);
  REQUIRE(store->commit({created(new_user("alice")), created(new_user("bob"))}) ==
          std::vector<commit_status>(2, commit_status::committed));
  const std::int64_t now = store->load({}).now_ms;
  const auto start_at = [](const std::string& id, std::int64_t at) {
    core::remembered_start s = allowed_start(id, make_stream("s", "x", at + 90'000));
    s.decided_at_ms = at;
    return s;
  };
  user_commit alice = created(loaded_one(*store, "alice"));
  alice.new_starts = {start_at("old-a", now - memory - 5), start_at("new-a", now)};
  user_commit bob = created(loaded_one(*store, "bob"));
  bob.new_starts = {start_at("old-b", now - memory - 3)};
  REQUIRE(store->commit({alice, bob}) == std::vector<commit_status>(2, commit_status::committed));

  store->settle();  // a prune looks at the tables' rows
  // A step looks at the oldest rows only: of alice's two, one is past the window; bob's waits.
  CHECK(store->prune(0, 2) == 1);
  CHECK_FALSE(store->request_owner("old-a"));
  CHECK(store->request_owner("old-b") == "bob");
  CHECK(store->prune(0, 10) == 1);
  CHECK(store->prune(0, 10) == 0);
  CHECK_FALSE(store->request_owner("old-b"));
  CHECK(store->request_owner("new-a") == "alice");
  REQUIRE(loaded_one(*store, "alice").starts.size() == 1);
  CHECK(loaded_one(*store, "bob").starts.empty());
  store.reset();
  CHECK(sqlite_store::open(file, 1000, memory)->request_owner("new-a") == "alice");
}

// Hardening (a black-box probe): the message about a bad row once read the row's memory after
// the statement was reset, printing garbage (a use-after-free under valgrind). It runs under ASan
// in CI, so a read of freed memory fails it.
TEST_CASE("a migrated row with an unknown policy is refused, naming the user and the policy",
          "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "bad.db";
  {
    sqlite_db db(file.string());
    db.exec(v1_tables);
    db.exec(v2_audit);
    db.exec(v3_token_hash);
    db.exec("PRAGMA user_version = 3");
    db.exec(
        "INSERT INTO users (id, name, max_streams, policy) VALUES "
        "('alice', 'Alice', 2, 'deny'), ('zed', 'Zed', 1, 'throttle-everyone-please')");
  }
  CHECK_THROWS_WITH(sqlite_store::open(file),
                    Catch::Contains("user 'zed'") &&
                        Catch::Contains("unknown policy 'throttle-everyone-please'"));
  // Nothing was half-migrated: the file still says schema 3.
  CHECK(text_of(file, "PRAGMA user_version") == "3");
}

// A lease stored as far in the future as an int64 goes once overflowed at load and the stream
// vanished; it must survive the migration and every reload as it was.
TEST_CASE("a lease at the end of time survives migration and reloads", "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "far.db";
  constexpr std::int64_t end_of_time = std::numeric_limits<std::int64_t>::max();
  {
    sqlite_db db(file.string());
    db.exec(v1_tables);
    db.exec("PRAGMA user_version = 1");
    db.exec(("INSERT INTO users (id, name) VALUES ('alice', 'Alice');"
             "INSERT INTO streams VALUES ('s1', 'alice', 'v01', 'tv', -5, " +
             std::to_string(end_of_time) + ")")
                .c_str());
  }
  for (int reopen = 0; reopen < 2; ++reopen) {
    CAPTURE(reopen);
    auto store = sqlite_store::open(file);
    const core::user_state alice = loaded_one(*store, "alice");
    REQUIRE(alice.streams.size() == 1);
    CHECK(alice.streams[0].expires_at_ms == end_of_time);
    CHECK(alice.streams[0].started_at_ms == -5);
    CHECK(store->due_users(end_of_time - 1, 10).empty());
  }
}

TEST_CASE("a store of a newer schema is refused", "[sqlite_store]") {
  test::temp_dir dir;
  const auto file = dir.path() / "new.db";
  sqlite_db(file.string()).exec("PRAGMA user_version = 9");
  CHECK_THROWS_WITH(sqlite_store::open(file),
                    Catch::Contains("schema version 9") && Catch::Contains("reads version 8"));
}

}  // namespace streamgate::sqlite_test
