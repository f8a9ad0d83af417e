#include "worker/store/sqlite/sqlite_schema.hpp"

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/ids.hpp"
#include "worker/store/sqlite/start_records.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate::sqlite_detail {

// Bumped with every change of the tables below; a store written by a newer worker is refused
// rather than misread. 1-3: the limiter's tables (users, videos, streams, verdicts, audit);
// 4: one row per user holding its whole state (worker/core), plus plans and meta; 5: the
// remembered starts move out of the state into rows of their own (start_records.hpp); 6: the
// decision log (log_record.hpp), where commits append and from which the tables are folded;
// 7: each live stream a row of its own, out of its user's state (create_streams); 8: the decision
// log moves to a file of its own (decision_log.hpp): the store folds and drops an older one at
// open (table_writer::fold_log_of_old_schema).
constexpr std::int64_t schema_version = 8;

// Rows are looked up by their text key, so the small ones live in the key's own b-tree (WITHOUT
// ROWID): a user's row is found in one descent. The audit keeps a rowid (INTEGER PRIMARY KEY):
// appended at the end of its b-tree in time order, and read newest first per user through the
// (user_id, id) index. It is append-only, so ids are never reused without AUTOINCREMENT.
constexpr const char* create_tables = R"sql(
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state BLOB NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS videos (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE plans (
    id TEXT PRIMARY KEY,
    max_streams INTEGER NOT NULL,
    policy TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    type TEXT NOT NULL,
    stream_id TEXT,
    request_id TEXT,
    video_id TEXT,
    reason TEXT
  );
)sql";
// A user's live streams, one row each (its state holds none), so a start writes the row of the
// stream it made and not every live one again. Clustered by user (WITHOUT ROWID), a user's rows
// are read in one descent and sorted by the commit that made them (its version, then its rank in
// it): the order the core keeps them in.
constexpr const char* create_streams = R"sql(
  CREATE TABLE streams (
    user_id TEXT NOT NULL,
    stream_id TEXT NOT NULL,
    made_version INTEGER NOT NULL,
    made_rank INTEGER NOT NULL,
    stream_user_id TEXT,
    video_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (user_id, stream_id)
  ) WITHOUT ROWID
)sql";
constexpr const char* create_audit_index = "CREATE INDEX audit_by_user ON audit (user_id, id)";
std::int64_t read_int(const sqlite_db& db, const char* sql) {
  sqlite_statement query(db, sql);
  if (!query.next_row()) throw sqlite_error(std::string(sql) + " returned no row");
  const std::int64_t value = query.column_int(0);
  query.reset();
  return value;
}

std::string read_text(const sqlite_db& db, const char* sql) {
  sqlite_statement query(db, sql);
  std::string value = query.next_row() ? std::string(query.column_text(0)) : std::string();
  query.reset();
  return value;
}

void insert_stream(sqlite_statement& insert, const std::string& user_id, const stream& s,
                   std::uint64_t made_version, std::size_t made_rank) {
  insert.bind(1, user_id);
  insert.bind(2, s.stream_id);
  insert.bind(3, static_cast<std::int64_t>(made_version));
  insert.bind(4, static_cast<std::int64_t>(made_rank));
  // NULL: its user's, as for every stream a decision makes; a state no decision makes round-trips.
  if (s.user_id == user_id)
    insert.bind_null(5);
  else
    insert.bind(5, s.user_id);
  insert.bind(6, s.video_id);
  insert.bind(7, s.session_id);
  insert.bind(8, s.started_at_ms);
  insert.bind(9, s.expires_at_ms);
  insert.execute();
}

stream read_stream(const sqlite_statement& row, const std::string& user_id) {
  stream s;
  s.stream_id = row.column_text(0);
  s.user_id = row.column_is_null(1) ? user_id : std::string(row.column_text(1));
  s.video_id = row.column_text(2);
  s.session_id = row.column_text(3);
  s.started_at_ms = row.column_int(4);
  s.expires_at_ms = row.column_int(5);
  return s;
}

void configure_connection(const sqlite_db& db) {
  // An operator's sqlite3 shell holding a lock for an instant is waited for, not an error.
  db.exec("PRAGMA busy_timeout=5000");
  // Not locking_mode=EXCLUSIVE, though the worker owns the file (store_lock): the tables are read
  // on the worker's thread and written by the folder's connection on a thread of its own
  // (log_folder.hpp).
  // journal_mode answers with the mode in force, which stays the old one when WAL is impossible;
  // running without it would break the durability contract.
  const std::string mode = read_text(db, "PRAGMA journal_mode=WAL");
  if (mode != "wal") throw sqlite_error("cannot switch the store to WAL mode (got '" + mode + "')");
  // FULL: the WAL is synced at every commit, so a committed batch survives a power loss; group
  // commit pays that fsync once per batch rather than once per decision.
  db.exec("PRAGMA synchronous=FULL");
  // Reads of the database file through a mapping and a page cache big enough for the hot users:
  // a decision then reads its user's pages without a syscall.
  db.exec("PRAGMA mmap_size=268435456");  // 256 MiB
  db.exec("PRAGMA cache_size=-65536");    // KiB: 64 MiB
}

void put_meta(const sqlite_db& db, const char* key, const std::string& value) {
  sqlite_statement upsert(db,
                          "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                          "ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  upsert.bind(1, std::string_view(key));
  upsert.bind(2, value);
  upsert.execute();
}

policy policy_from_store(std::string_view text, const std::string& what) {
  const std::optional<policy> p = parse_policy(text);
  if (!p)
    throw sqlite_error(what + " has an unknown policy '" + std::string(text) + "' in the store");
  return *p;
}

// Schema 1-3 kept one row per user, stream and verdict. Each user and its streams become one
// state (version 1, seq 0); videos and the audit trail are kept. The verdicts table is dropped,
// not converted: it holds whole verdict records of the old codec, and a request id is remembered
// for minutes only, so the one cost is that a client retrying across the upgrade is decided anew.
// Streams whose user no longer exists are dropped with it: no state can hold them.
void migrate_from_rows(const sqlite_db& db, std::int64_t from) {
  db.exec("ALTER TABLE users RENAME TO old_users");
  if (from >= 2) db.exec("ALTER TABLE audit RENAME TO old_audit");
  db.exec(create_tables);
  start_records::create_table(db);
  if (from >= 2) {
    db.exec(
        "INSERT INTO audit (id, user_id, at_ms, type, stream_id, request_id, video_id, reason) "
        "SELECT id, user_id, at_ms, type, stream_id, request_id, video_id, reason "
        "FROM old_audit ORDER BY id");
    // Also drops the old audit_by_user index, whose name the new one takes.
    db.exec("DROP TABLE old_audit");
  }
  db.exec(create_audit_index);

  std::unordered_map<std::string, std::vector<stream>> streams_of;
  sqlite_statement streams(db,
                           "SELECT stream_id, user_id, video_id, session_id, started_at_ms, "
                           "expires_at_ms FROM streams ORDER BY started_at_ms, stream_id");
  while (streams.next_row()) {
    stream s;
    s.stream_id = streams.column_text(0);
    s.user_id = streams.column_text(1);
    s.video_id = streams.column_text(2);
    s.session_id = streams.column_text(3);
    s.started_at_ms = streams.column_int(4);
    s.expires_at_ms = streams.column_int(5);
    streams_of[s.user_id].push_back(std::move(s));
  }

  // Version 3 added token_hash; before it every user had none.
  sqlite_statement users(db, from >= 3 ? "SELECT id, name, max_streams, policy, token_hash "
                                         "FROM old_users ORDER BY id"
                                       : "SELECT id, name, max_streams, policy, NULL "
                                         "FROM old_users ORDER BY id");
  sqlite_statement insert(db, insert_user_sql);
  bool any_user = false;
  while (users.next_row()) {
    any_user = true;
    core::user_state state;
    user& u = state.u;
    u.id = users.column_text(0);
    u.name = users.column_text(1);
    if (!users.column_is_null(2)) u.max_streams = static_cast<int>(users.column_int(2));
    if (!users.column_is_null(3)) {
      try {
        u.policy_override = policy_from_store(users.column_text(3), "user '" + u.id + "'");
      } catch (const sqlite_error&) {
        users.reset();
        throw;
      }
    }
    if (!users.column_is_null(4)) u.token_hash = users.column_text(4);
    if (const auto found = streams_of.find(u.id); found != streams_of.end())
      state.streams = std::move(found->second);
    const std::string bytes = encode_state(state);
    insert.bind(1, u.id);
    insert.bind(2, bytes);
    insert.execute();
  }
  db.exec("DROP TABLE old_users; DROP TABLE streams; DROP TABLE verdicts");

  // The old worker loaded its catalog into an empty store only, so a store holding users or videos
  // was seeded; one holding neither is seeded at the next start, as it would have been.
  const bool any_video = read_int(db, "SELECT EXISTS (SELECT 1 FROM videos)") != 0;
  if (any_user || any_video) put_meta(db, seeded_key, "1");
}

// Schema 4 kept a user's remembered starts inside its state (encoding version 1): each becomes a
// row, and the state is written again without them.
void migrate_starts_out_of_states(const sqlite_db& db) {
  start_records::create_table(db);
  // Read whole before any is written: a scan does not meet the rows it rewrites.
  std::vector<core::user_state> states;
  sqlite_statement users(db, "SELECT id, state FROM users ORDER BY id");
  while (users.next_row()) {
    auto state = decode_state(users.column_text(1), 0);
    // Left as it is: its loads fail with store_unavailable, as they did before (rebuild_indexes).
    if (state) states.push_back(std::move(*state));
  }
  sqlite_statement rewrite(db, "UPDATE users SET state = CAST(?1 AS BLOB) WHERE id = ?2");
  for (const core::user_state& state : states) {
    start_records::insert_legacy(db, state.u.id, state.starts);
    const std::string bytes = encode_state(state);
    rewrite.bind(1, bytes);
    rewrite.bind(2, state.u.id);
    rewrite.execute();
  }
}

// Schema 6 and before kept a user's live streams inside its state: each becomes a row, made by
// the version the state has, and the state is written again without them.
void migrate_streams_out_of_states(const sqlite_db& db) {
  db.exec(create_streams);
  // Read whole before any is written: a scan does not meet the rows it rewrites.
  std::vector<core::user_state> states;
  sqlite_statement users(db, "SELECT id, version, state FROM users ORDER BY id");
  while (users.next_row()) {
    auto state = decode_state(users.column_text(2),
                              static_cast<std::uint64_t>(users.column_int(1)));
    // Left as it is: its loads fail with store_unavailable, as they did before.
    if (state) states.push_back(std::move(*state));
  }
  sqlite_statement insert(db, insert_stream_sql);
  sqlite_statement rewrite(db, "UPDATE users SET state = CAST(?1 AS BLOB) WHERE id = ?2");
  for (const core::user_state& state : states) {
    for (std::size_t rank = 0; rank < state.streams.size(); ++rank)
      insert_stream(insert, state.u.id, state.streams[rank], state.version, rank);
    const std::string bytes = encode_state(state, /*with_streams=*/false);
    rewrite.bind(1, bytes);
    rewrite.bind(2, state.u.id);
    rewrite.execute();
  }
}

void set_up_schema(const sqlite_db& db, const std::filesystem::path& path) {
  const std::int64_t version = read_int(db, "PRAGMA user_version");
  if (version == schema_version) return;
  if (version > schema_version)
    throw sqlite_error("the store '" + path.string() + "' has schema version " +
                       std::to_string(version) + ", this worker reads version " +
                       std::to_string(schema_version) + " (a newer worker wrote it)");
  // One transaction with the version number, so a crash never leaves half a schema marked done,
  // and a failed migration leaves the file as it was.
  db.exec("BEGIN IMMEDIATE");
  try {
    if (version == 0) {
      db.exec(create_tables);
      db.exec(create_audit_index);
      start_records::create_table(db);
      db.exec(create_streams);
    } else if (version < 7) {
      // Each step leaves the schema the next one starts from (a state still holding its streams
      // until the last).
      if (version < 4) {
        migrate_from_rows(db, version);
      } else if (version == 4) {
        migrate_starts_out_of_states(db);
      }
      migrate_streams_out_of_states(db);
    }
    // Schema 4 has its dataset's id already: the same data keeps the same identity.
    if (version < 4) put_meta(db, dataset_id_key, new_id("d_"));
    db.exec(("PRAGMA user_version = " + std::to_string(schema_version)).c_str());
    db.exec("COMMIT");
  } catch (...) {
    try {
      db.exec("ROLLBACK");
    } catch (const sqlite_error&) {
    }
    throw;
  }
}

}  // namespace streamgate::sqlite_detail
