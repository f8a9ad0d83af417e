#include "worker/sqlite_store.hpp"

#include <string>
#include <utility>
#include <variant>

#include "common/codec.hpp"

namespace streamgate {

namespace {

// Bumped with every change of the tables below; a store written by a newer worker is refused
// rather than misread.
constexpr std::int64_t schema_version = 3;

// Every table is looked up by its text key only. The small rows live in the key's own b-tree
// (WITHOUT ROWID); verdicts keep a rowid table, as a denied verdict's record carries the user's
// streams and SQLite advises against WITHOUT ROWID for rows that large.
constexpr const char* create_tables = R"sql(
  CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    max_streams INTEGER,
    policy TEXT
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS videos (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    duration_seconds INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS streams (
    stream_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    video_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    started_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS verdicts (
    request_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    record TEXT NOT NULL,
    decided_at_ms INTEGER NOT NULL
  );
)sql";

// Version 2: the audit trail, append-only, read newest first per user.
constexpr const char* create_audit_table = R"sql(
  CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    type TEXT NOT NULL,
    stream_id TEXT,
    request_id TEXT,
    video_id TEXT,
    reason TEXT
  );
  CREATE INDEX IF NOT EXISTS audit_by_user ON audit (user_id, id);
)sql";

// Version 3: the SHA-256 hex of each user's bearer token (--auth token); NULL for users without
// one, such as the demo catalog's.
constexpr const char* add_token_hash = "ALTER TABLE users ADD COLUMN token_hash TEXT";

std::int64_t read_schema_version(const sqlite_db& db) {
  sqlite_statement query(db, "PRAGMA user_version");
  if (!query.next_row()) throw sqlite_error("PRAGMA user_version returned no row");
  const std::int64_t version = query.column_int(0);
  query.reset();
  return version;
}

void enable_wal(const sqlite_db& db) {
  // journal_mode answers with the mode in force, which stays the old one when WAL is impossible
  // (e.g. a file system without shared memory); running without it would break the contract.
  sqlite_statement pragma(db, "PRAGMA journal_mode=WAL");
  const std::string mode = pragma.next_row() ? std::string(pragma.column_text(0)) : "";
  pragma.reset();
  if (mode != "wal") throw sqlite_error("cannot switch the store to WAL mode (got '" + mode + "')");
}

}  // namespace

sqlite_store sqlite_store::open(const std::filesystem::path& path) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  sqlite_db db(path.string());
  // A writer from another process (an operator's sqlite3 shell) waits its turn instead of failing.
  db.exec("PRAGMA busy_timeout=5000");
  enable_wal(db);
  // FULL: the WAL is synced at every commit, so a committed batch survives a power loss; group
  // commit pays that fsync once per batch rather than once per decision.
  db.exec("PRAGMA synchronous=FULL");
  const std::int64_t version = read_schema_version(db);
  if (version == 0) {
    // In one transaction with the version, so a crash never leaves half a schema marked done.
    db.exec("BEGIN IMMEDIATE");
    db.exec(create_tables);
    db.exec(create_audit_table);
    db.exec(add_token_hash);
    db.exec(("PRAGMA user_version = " + std::to_string(schema_version)).c_str());
    db.exec("COMMIT");
  } else if (version == 1 || version == 2) {
    // Each step of the migration in the same transaction as the new version number.
    db.exec("BEGIN IMMEDIATE");
    if (version == 1) db.exec(create_audit_table);
    db.exec(add_token_hash);
    db.exec(("PRAGMA user_version = " + std::to_string(schema_version)).c_str());
    db.exec("COMMIT");
  } else if (version != schema_version) {
    throw sqlite_error("the store '" + path.string() + "' has schema version " +
                       std::to_string(version) + ", this worker reads version " +
                       std::to_string(schema_version));
  }
  return sqlite_store(std::move(db));
}

sqlite_store::sqlite_store(sqlite_db db)
    : db_(std::move(db)),
      begin_(db_, "BEGIN IMMEDIATE"),
      commit_(db_, "COMMIT"),
      rollback_(db_, "ROLLBACK"),
      upsert_user_(db_,
                   "INSERT INTO users (id, name, max_streams, policy, token_hash) "
                   "VALUES (?1, ?2, ?3, ?4, ?5) "
                   "ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                   "max_streams = excluded.max_streams, policy = excluded.policy, "
                   "token_hash = excluded.token_hash"),
      upsert_video_(db_,
                    "INSERT INTO videos (id, title, duration_seconds) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
                    "duration_seconds = excluded.duration_seconds"),
      upsert_stream_(db_,
                     "INSERT INTO streams (stream_id, user_id, video_id, session_id, "
                     "started_at_ms, expires_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
                     "ON CONFLICT (stream_id) DO UPDATE SET user_id = excluded.user_id, "
                     "video_id = excluded.video_id, session_id = excluded.session_id, "
                     "started_at_ms = excluded.started_at_ms, "
                     "expires_at_ms = excluded.expires_at_ms"),
      delete_stream_(db_, "DELETE FROM streams WHERE stream_id = ?1"),
      // An upsert, not a plain insert: a requestId past its memory window is decided anew, which
      // may happen before the old row's verdict_forgotten was recorded; the latest verdict wins.
      upsert_verdict_(db_,
                      "INSERT INTO verdicts (request_id, user_id, record, decided_at_ms) "
                      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (request_id) DO UPDATE SET "
                      "user_id = excluded.user_id, record = excluded.record, "
                      "decided_at_ms = excluded.decided_at_ms"),
      delete_verdict_(db_, "DELETE FROM verdicts WHERE request_id = ?1"),
      insert_audit_(db_,
                    "INSERT INTO audit (user_id, at_ms, type, stream_id, request_id, video_id, "
                    "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      select_audit_(db_,
                    "SELECT at_ms, type, stream_id, request_id, video_id, reason FROM audit "
                    "WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2") {}

stored_state sqlite_store::load() const {
  stored_state state;

  sqlite_statement users(db_,
                         "SELECT id, name, max_streams, policy, token_hash FROM users ORDER BY id");
  while (users.next_row()) {
    user& u = state.users.emplace_back();
    u.id = users.column_text(0);
    u.name = users.column_text(1);
    if (!users.column_is_null(2)) u.max_streams = static_cast<int>(users.column_int(2));
    if (!users.column_is_null(3)) {
      const std::string_view text = users.column_text(3);
      u.policy_override = parse_policy(text);
      if (!u.policy_override) {
        users.reset();
        throw sqlite_error("user '" + u.id + "' has an unknown policy '" + std::string(text) +
                           "' in the store");
      }
    }
    if (!users.column_is_null(4)) u.token_hash = users.column_text(4);
  }

  sqlite_statement videos(db_, "SELECT id, title, duration_seconds FROM videos ORDER BY id");
  while (videos.next_row()) {
    video& v = state.videos.emplace_back();
    v.id = videos.column_text(0);
    v.title = videos.column_text(1);
    v.duration_seconds = static_cast<int>(videos.column_int(2));
  }

  sqlite_statement streams(db_,
                           "SELECT stream_id, user_id, video_id, session_id, started_at_ms, "
                           "expires_at_ms FROM streams ORDER BY started_at_ms, stream_id");
  while (streams.next_row()) {
    stream& s = state.streams.emplace_back();
    s.stream_id = streams.column_text(0);
    s.user_id = streams.column_text(1);
    s.video_id = streams.column_text(2);
    s.session_id = streams.column_text(3);
    s.started_at_ms = streams.column_int(4);
    s.expires_at_ms = streams.column_int(5);
  }

  // Oldest first, so the limiter's memory of request ids forgets them in order.
  sqlite_statement verdicts(db_,
                            "SELECT request_id, record FROM verdicts "
                            "ORDER BY decided_at_ms, request_id");
  while (verdicts.next_row()) {
    auto decoded = decode_verdict_record(verdicts.column_text(1));
    if (!decoded) {
      const std::string request_id(verdicts.column_text(0));
      verdicts.reset();
      throw sqlite_error("the stored verdict of request '" + request_id +
                         "' cannot be read: " + decoded.error().message);
    }
    state.verdicts.push_back(std::move(*decoded));
  }
  return state;
}

bool sqlite_store::has_catalog() const {
  sqlite_statement query(db_,
                         "SELECT EXISTS (SELECT 1 FROM users) OR EXISTS (SELECT 1 FROM videos)");
  const bool found = query.next_row() && query.column_int(0) != 0;
  query.reset();
  return found;
}

void sqlite_store::commit(const std::vector<change>& changes) { commit(changes, {}); }

void sqlite_store::commit(const std::vector<change>& changes,
                          const std::vector<audit_entry>& audit) {
  if (changes.empty() && audit.empty()) return;
  begin_.execute();
  try {
    for (const change& c : changes) std::visit([this](const auto& item) { apply(item); }, c);
    for (const audit_entry& e : audit) apply(e);
    commit_.execute();
  } catch (...) {
    // A failed COMMIT may have rolled back already; ROLLBACK then fails harmlessly with "no
    // transaction is active", which must not hide the original error.
    try {
      rollback_.execute();
    } catch (const sqlite_error&) {
    }
    throw;
  }
}

void sqlite_store::apply(const stream_saved& c) {
  const stream& s = c.s;
  upsert_stream_.bind(1, s.stream_id);
  upsert_stream_.bind(2, s.user_id);
  upsert_stream_.bind(3, s.video_id);
  upsert_stream_.bind(4, s.session_id);
  upsert_stream_.bind(5, s.started_at_ms);
  upsert_stream_.bind(6, s.expires_at_ms);
  upsert_stream_.execute();
}

void sqlite_store::apply(const stream_removed& c) {
  delete_stream_.bind(1, c.stream_id);
  delete_stream_.execute();
}

void sqlite_store::apply(const verdict_saved& c) {
  // Lives until execute() returns: the statement binds it without a copy.
  const verdict& v = *c.v;
  const std::string record = encode_verdict_record(v);
  upsert_verdict_.bind(1, v.request_id);
  upsert_verdict_.bind(2, v.user_id);
  upsert_verdict_.bind(3, record);
  upsert_verdict_.bind(4, v.decided_at_ms);
  upsert_verdict_.execute();
}

void sqlite_store::apply(const verdict_forgotten& c) {
  delete_verdict_.bind(1, c.request_id);
  delete_verdict_.execute();
}

void sqlite_store::apply(const user_saved& c) {
  const user& u = c.u;
  upsert_user_.bind(1, u.id);
  upsert_user_.bind(2, u.name);
  if (u.max_streams)
    upsert_user_.bind(3, std::int64_t{*u.max_streams});
  else
    upsert_user_.bind_null(3);
  if (u.policy_override)
    upsert_user_.bind(4, to_string(*u.policy_override));
  else
    upsert_user_.bind_null(4);
  if (u.token_hash.empty())
    upsert_user_.bind_null(5);
  else
    upsert_user_.bind(5, u.token_hash);
  upsert_user_.execute();
}

namespace {
void bind_optional(sqlite_statement& statement, int index, const std::string& text) {
  if (text.empty())
    statement.bind_null(index);
  else
    statement.bind(index, text);
}
std::string text_or_empty(const sqlite_statement& statement, int index) {
  return statement.column_is_null(index) ? std::string()
                                         : std::string(statement.column_text(index));
}
}  // namespace

void sqlite_store::apply(const audit_entry& e) {
  insert_audit_.bind(1, e.user_id);
  insert_audit_.bind(2, e.at_ms);
  insert_audit_.bind(3, e.type);
  bind_optional(insert_audit_, 4, e.stream_id);
  bind_optional(insert_audit_, 5, e.request_id);
  bind_optional(insert_audit_, 6, e.video_id);
  bind_optional(insert_audit_, 7, e.reason);
  insert_audit_.execute();
}

std::vector<audit_entry> sqlite_store::recent_audit(const std::string& user_id, int limit) const {
  std::vector<audit_entry> entries;
  select_audit_.bind(1, user_id);
  select_audit_.bind(2, std::int64_t{limit});
  while (select_audit_.next_row()) {
    audit_entry& e = entries.emplace_back();
    e.user_id = user_id;
    e.at_ms = select_audit_.column_int(0);
    e.type = select_audit_.column_text(1);
    e.stream_id = text_or_empty(select_audit_, 2);
    e.request_id = text_or_empty(select_audit_, 3);
    e.video_id = text_or_empty(select_audit_, 4);
    e.reason = text_or_empty(select_audit_, 5);
  }
  return entries;
}

void sqlite_store::apply(const video_saved& c) {
  upsert_video_.bind(1, c.v.id);
  upsert_video_.bind(2, c.v.title);
  upsert_video_.bind(3, std::int64_t{c.v.duration_seconds});
  upsert_video_.execute();
}

}  // namespace streamgate
