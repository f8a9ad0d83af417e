#include "worker/store/sqlite/sqlite_store.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <iterator>
#include <system_error>

#include "common/ids.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

// The sidecar lock (see store_in_use). flock, not SQLite's own POSIX locks: those belong to the
// process, so a second connection of the same process would be let in, and closing it would drop
// the first one's locks. The file is never deleted: removing it while another process is about to
// lock it would let two processes each lock a file of that name.
class store_lock final {
 public:
  explicit store_lock(const std::filesystem::path& store_path) {
    const std::string lock_path = store_path.string() + ".lock";
    fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw std::system_error(errno, std::generic_category(),
                              "cannot open the lock file '" + lock_path + "'");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int failure = errno;
      const std::string holder = holder_pid();
      ::close(fd_);
      if (failure == EWOULDBLOCK)
        throw store_in_use("the store '" + store_path.string() +
                           "' is in use by another worker (pid " + holder + ", lock '" + lock_path +
                           "')");
      throw std::system_error(failure, std::generic_category(), "cannot lock '" + lock_path + "'");
    }
    // Written under the lock, so the pid in the file is always the holder's (or absent for the
    // instant between the lock and this write: a refused opener then says "unknown").
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 ||
        ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      const int failure = errno;
      ::close(fd_);
      throw std::system_error(failure, std::generic_category(),
                              "cannot write the pid into '" + lock_path + "'");
    }
  }

  // Closing the descriptor releases the lock, also when the process dies without running this.
  ~store_lock() { ::close(fd_); }
  store_lock(const store_lock&) = delete;
  store_lock& operator=(const store_lock&) = delete;

 private:
  std::string holder_pid() const {
    char buffer[32];
    const ssize_t n = ::pread(fd_, buffer, sizeof buffer, 0);
    std::string pid(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    const bool digits = !pid.empty() && std::all_of(pid.begin(), pid.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
    return digits ? pid : "unknown";
  }

  int fd_ = -1;
};

namespace {

// Bumped with every change of the tables below; a store written by a newer worker is refused
// rather than misread. 1-3: the limiter's tables (users, videos, streams, verdicts, audit);
// 4: one row per user holding its whole state (worker/core), plus plans and meta; 5: the
// remembered starts move out of the state into rows of their own (start_records.hpp).
constexpr std::int64_t schema_version = 5;

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
constexpr const char* create_audit_index = "CREATE INDEX audit_by_user ON audit (user_id, id)";

constexpr const char* dataset_id_key = "dataset_id";
constexpr const char* seeded_key = "seeded";

// A user's state is bound as text (the handle binds no blobs) and cast: the database is UTF-8, so
// the cast keeps the bytes as they are, and the row holds a BLOB that no text function touches.
constexpr const char* insert_user_sql =
    "INSERT INTO users (id, version, state) VALUES (?1, 1, CAST(?2 AS BLOB)) "
    "ON CONFLICT (id) DO NOTHING";

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

void configure(const sqlite_db& db) {
  // An operator's sqlite3 shell holding a lock for an instant is waited for, not an error.
  db.exec("PRAGMA busy_timeout=5000");
  // The worker owns the file (store_lock), so SQLite's own locks are taken once and kept, and the
  // WAL index lives in the heap instead of a shared-memory file: no lock or shm syscalls per
  // transaction, and the page cache stays valid between batches without being checked. The cost:
  // no other process can read the file while the worker runs (audit lines are read through the
  // api).
  db.exec("PRAGMA locking_mode=EXCLUSIVE");
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
    } else if (version < 4) {
      migrate_from_rows(db, version);
    } else {
      migrate_starts_out_of_states(db);
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

// The same as core::next_expiry, which the store does not link: the index at open must hold what
// the commits' next_expiry would have put there.
std::optional<std::int64_t> earliest_expiry(const core::user_state& state) {
  std::optional<std::int64_t> earliest;
  for (const stream& s : state.streams)
    if (!earliest || s.expires_at_ms < *earliest) earliest = s.expires_at_ms;
  return earliest;
}

}  // namespace

std::unique_ptr<sqlite_store> sqlite_store::open(const std::filesystem::path& path,
                                                 std::size_t audit_lines_per_user,
                                                 std::int64_t request_memory_ms) {
  if (audit_lines_per_user < 1)
    throw std::invalid_argument("sqlite store: an audit cap of 0 lines per user keeps no trail");
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  // Locked before SQLite opens the file: two workers starting at once never both set up or
  // migrate the schema, and a refused one never touches the file.
  auto lock = std::make_unique<store_lock>(path);
  sqlite_db db(path.string());
  configure(db);
  set_up_schema(db, path);
  return std::unique_ptr<sqlite_store>(new sqlite_store(path, std::move(lock), std::move(db),
                                                        audit_lines_per_user, request_memory_ms));
}

sqlite_store::sqlite_store(std::filesystem::path path, std::unique_ptr<store_lock> lock,
                           sqlite_db db, std::size_t audit_lines_per_user,
                           std::int64_t request_memory_ms)
    : path_(std::move(path)),
      lock_(std::move(lock)),
      db_(std::move(db)),
      audit_cap_(audit_lines_per_user),
      begin_(db_, "BEGIN IMMEDIATE"),
      commit_(db_, "COMMIT"),
      rollback_(db_, "ROLLBACK"),
      select_user_(db_, "SELECT version, state FROM users WHERE id = ?1"),
      insert_user_(db_, insert_user_sql),
      update_user_(db_,
                   "UPDATE users SET state = CAST(?1 AS BLOB), version = version + 1 "
                   "WHERE id = ?2 AND version = ?3"),
      delete_user_(db_, "DELETE FROM users WHERE id = ?1 AND version = ?2"),
      delete_audit_(db_, "DELETE FROM audit WHERE user_id = ?1"),
      insert_audit_(db_,
                    "INSERT INTO audit (user_id, at_ms, type, stream_id, request_id, video_id, "
                    "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      select_audit_(db_,
                    "SELECT at_ms, type, stream_id, request_id, video_id, reason FROM audit "
                    "WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2"),
      // Through audit_by_user (user_id, id): the cap-th newest id in one descent and a short
      // walk, then the older lines of that user only.
      trim_audit_(db_,
                  "DELETE FROM audit WHERE user_id = ?1 AND id < (SELECT id FROM audit "
                  "WHERE user_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)"),
      upsert_video_(db_,
                    "INSERT INTO videos (id, title, duration_seconds) VALUES (?1, ?2, ?3) "
                    "ON CONFLICT (id) DO UPDATE SET title = excluded.title, "
                    "duration_seconds = excluded.duration_seconds"),
      upsert_plan_(db_,
                   "INSERT INTO plans (id, max_streams, policy) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (id) DO UPDATE SET max_streams = excluded.max_streams, "
                   "policy = excluded.policy"),
      select_meta_(db_, "SELECT value FROM meta WHERE key = ?1"),
      upsert_meta_(db_,
                   "INSERT INTO meta (key, value) VALUES (?1, ?2) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value"),
      starts_(db_, request_memory_ms) {
  select_meta_.bind(1, std::string_view(dataset_id_key));
  if (select_meta_.next_row()) {
    dataset_id_ = select_meta_.column_text(0);
    select_meta_.reset();
  }
  if (dataset_id_.empty())
    throw sqlite_error("the store '" + path_.string() + "' has no dataset id");
  rebuild_indexes();
  count_audit_lines();
}

sqlite_store::~sqlite_store() = default;

template <class Body>
void sqlite_store::run_in_transaction(const char* what, const Body& body) {
  try {
    begin_.execute();
    try {
      body();
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
  } catch (const sqlite_error& e) {
    throw store_unavailable(std::string("cannot ") + what + " in the store '" + path_.string() +
                            "': " + e.what());
  }
}

std::int64_t sqlite_store::now_ms() {
  using namespace std::chrono;
  const std::int64_t wall =
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  last_now_ms_ = std::max(last_now_ms_, wall);
  return last_now_ms_;
}

void sqlite_store::check_not_moved() {
  int moved = 0;
  if (sqlite3_file_control(db_.handle(), "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK)
    throw sqlite_error("cannot check whether the store file has moved");
  // Writing on would commit into a file nobody will open again: every decision confirmed from
  // now on would be lost at the next start.
  if (moved)
    throw store_lost("the store file '" + path_.string() +
                     "' was deleted or replaced while this worker held it");
}

void sqlite_store::rebuild_indexes() {
  sqlite_statement rows(db_, "SELECT id, state FROM users");
  while (rows.next_row()) {
    auto state = decode_state(rows.column_text(1), 0);
    if (!state) {
      // Not fatal: the other users are served, and this one's loads fail with store_unavailable.
      spdlog::error("the stored state of user '{}' cannot be read: {}", rows.column_text(0),
                    state.error().message);
      continue;
    }
    index(state->u.id, earliest_expiry(*state));
  }
  starts_.build_index();
}

void sqlite_store::count_audit_lines() {
  sqlite_statement counts(db_, "SELECT user_id, count(*) FROM audit GROUP BY user_id");
  while (counts.next_row())
    audit_lines_of_user_[std::string(counts.column_text(0))] =
        static_cast<std::size_t>(counts.column_int(1));
}

std::size_t sqlite_store::trim_audit(const std::string& user_id, std::size_t lines) {
  // Slack of an eighth: a user at the cap trims once per cap/8 new lines, not at every commit.
  if (lines <= audit_cap_ + audit_cap_ / 8) return lines;
  trim_audit_.bind(1, user_id);
  trim_audit_.bind(2, static_cast<std::int64_t>(audit_cap_ - 1));
  trim_audit_.execute();
  const auto trimmed = static_cast<std::size_t>(sqlite3_changes(db_.handle()));
  return lines > trimmed ? lines - trimmed : 0;
}

void sqlite_store::unindex(const std::string& user_id) {
  index(user_id, std::nullopt);
  audit_lines_of_user_.erase(user_id);
}

void sqlite_store::index(const std::string& user_id, std::optional<std::int64_t> next_expiry) {
  const auto indexed = expiry_of_.find(user_id);
  if (indexed != expiry_of_.end() && (!next_expiry || indexed->second != *next_expiry)) {
    by_expiry_.erase({indexed->second, user_id});
    expiry_of_.erase(indexed);
  }
  if (next_expiry && expiry_of_.emplace(user_id, *next_expiry).second)
    by_expiry_.emplace(*next_expiry, user_id);
}

bool sqlite_store::seeded() {
  try {
    select_meta_.bind(1, std::string_view(seeded_key));
    const bool found = select_meta_.next_row();
    if (found) select_meta_.reset();
    return found;
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot read the store '" + path_.string() + "': " + e.what());
  }
}

void sqlite_store::seed(const dataset_catalog& catalog,
                        const std::vector<core::user_state>& users) {
  std::vector<const core::user_state*> inserted;
  run_in_transaction("seed the catalog", [&] {
    inserted.clear();
    for (const core::user_state& state : users) {
      const std::string bytes = encode_state(state);
      insert_user_.bind(1, state.u.id);
      insert_user_.bind(2, bytes);
      insert_user_.execute();
      // A user already stored is never overwritten: it may have changed since it was seeded.
      if (sqlite3_changes(db_.handle()) == 1) inserted.push_back(&state);
    }
    for (const video& v : catalog.videos) {
      upsert_video_.bind(1, v.id);
      upsert_video_.bind(2, v.title);
      upsert_video_.bind(3, std::int64_t{v.duration_seconds});
      upsert_video_.execute();
    }
    for (const plan& p : catalog.plans) {
      upsert_plan_.bind(1, p.id);
      upsert_plan_.bind(2, std::int64_t{p.max_streams});
      upsert_plan_.bind(3, to_string(p.limit_policy));
      upsert_plan_.execute();
    }
    // Last, in the same transaction: the marker is there only with everything above.
    upsert_meta_.bind(1, std::string_view(seeded_key));
    upsert_meta_.bind(2, std::string_view("1"));
    upsert_meta_.execute();
  });
  for (const core::user_state* state : inserted) index(state->u.id, earliest_expiry(*state));
}

dataset_catalog sqlite_store::load_catalog() {
  dataset_catalog catalog;
  try {
    sqlite_statement videos(db_, "SELECT id, title, duration_seconds FROM videos ORDER BY id");
    while (videos.next_row()) {
      video& v = catalog.videos.emplace_back();
      v.id = videos.column_text(0);
      v.title = videos.column_text(1);
      v.duration_seconds = static_cast<int>(videos.column_int(2));
    }
    sqlite_statement plans(db_, "SELECT id, max_streams, policy FROM plans ORDER BY id");
    while (plans.next_row()) {
      plan& p = catalog.plans.emplace_back();
      p.id = plans.column_text(0);
      p.max_streams = static_cast<int>(plans.column_int(1));
      try {
        p.limit_policy = policy_from_store(plans.column_text(2), "plan '" + p.id + "'");
      } catch (const sqlite_error&) {
        plans.reset();
        throw;
      }
    }
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot read the catalog of the store '" + path_.string() +
                            "': " + e.what());
  }
  return catalog;
}

loaded_users sqlite_store::load(const std::vector<std::string>& user_ids,
                                const std::vector<std::string>& request_ids) {
  loaded_users loaded;
  loaded.now_ms = now_ms();
  loaded.owners.reserve(request_ids.size());
  for (const std::string& id : request_ids) loaded.owners.push_back(starts_.owner(id));
  loaded.states.reserve(user_ids.size());
  try {
    for (const std::string& id : user_ids) {
      select_user_.bind(1, id);
      if (!select_user_.next_row()) {
        loaded.states.emplace_back();
        continue;
      }
      const auto version = static_cast<std::uint64_t>(select_user_.column_int(0));
      auto state = decode_state(select_user_.column_text(1), version);
      select_user_.reset();
      // A row this worker cannot read is corruption, not a passing failure; but a crash would
      // stop every other user too, so this user's batch gets 503 and the rest are served.
      if (!state)
        throw store_unavailable("the stored state of user '" + id +
                                "' cannot be read: " + state.error().message);
      for (core::remembered_start& s : starts_.of_user(id)) state->starts.push_back(std::move(s));
      loaded.states.emplace_back(std::move(*state));
    }
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot load users from the store '" + path_.string() +
                            "': " + e.what());
  }
  return loaded;
}

std::vector<commit_status> sqlite_store::commit(const std::vector<user_commit>& commits) {
  std::vector<commit_status> statuses(commits.size(), commit_status::conflict);
  if (commits.empty()) return statuses;
  // Audit line counts as this batch leaves them, applied only once it is durable.
  std::unordered_map<std::string, std::size_t> audit_lines;
  run_in_transaction("commit a batch", [&] {
    std::fill(statuses.begin(), statuses.end(), commit_status::conflict);
    audit_lines.clear();
    starts_.discard();
    for (std::size_t i = 0; i < commits.size(); ++i) {
      const user_commit& c = commits[i];
      if (c.remove) {
        delete_user_.bind(1, c.state.u.id);
        delete_user_.bind(2, static_cast<std::int64_t>(c.state.version));
        delete_user_.execute();
        if (sqlite3_changes(db_.handle()) != 1) continue;
        statuses[i] = commit_status::committed;
        delete_audit_.bind(1, c.state.u.id);
        delete_audit_.execute();
        starts_.stage_remove_user(c.state.u.id);
        continue;
      }
      // Bound without a copy: lives until the statement has run.
      const std::string bytes = encode_state(c.state);
      if (c.state.version == 0) {
        insert_user_.bind(1, c.state.u.id);
        insert_user_.bind(2, bytes);
        insert_user_.execute();
      } else {
        update_user_.bind(1, bytes);
        update_user_.bind(2, c.state.u.id);
        update_user_.bind(3, static_cast<std::int64_t>(c.state.version));
        update_user_.execute();
      }
      // No row written: the user exists already (a create) or moved past the version loaded.
      if (sqlite3_changes(db_.handle()) != 1) continue;
      statuses[i] = commit_status::committed;
      starts_.stage_add(c.state.u.id, c.new_starts);
      for (const audit_entry& e : c.audit) {
        insert_audit_.bind(1, e.user_id);
        insert_audit_.bind(2, e.at_ms);
        insert_audit_.bind(3, e.type);
        bind_optional(insert_audit_, 4, e.stream_id);
        bind_optional(insert_audit_, 5, e.request_id);
        bind_optional(insert_audit_, 6, e.video_id);
        bind_optional(insert_audit_, 7, e.reason);
        insert_audit_.execute();
      }
      if (!c.audit.empty()) {
        const std::string& id = c.state.u.id;
        const auto staged = audit_lines.find(id);
        const auto counted = audit_lines_of_user_.find(id);
        const std::size_t before = staged != audit_lines.end()             ? staged->second
                                   : counted != audit_lines_of_user_.end() ? counted->second
                                                                           : 0;
        audit_lines[id] = trim_audit(id, before + c.audit.size());
      }
    }
    // As late as possible before COMMIT, so a file moved during the batch is caught too; the
    // batch is rolled back then.
    check_not_moved();
  });
  // Only once durable: a failed commit leaves the indexes matching the file.
  starts_.apply();
  for (std::size_t i = 0; i < commits.size(); ++i) {
    if (statuses[i] != commit_status::committed) continue;
    if (commits[i].remove)
      unindex(commits[i].state.u.id);
    else
      index(commits[i].state.u.id, commits[i].next_expiry);
  }
  for (auto& [user_id, lines] : audit_lines) audit_lines_of_user_[user_id] = lines;
  return statuses;
}

std::vector<std::string> sqlite_store::due_users(std::int64_t now_ms, std::size_t max) {
  std::vector<std::string> due;
  for (auto it = by_expiry_.begin(); it != by_expiry_.end() && it->first <= now_ms; ++it) {
    if (due.size() >= max) break;
    due.push_back(it->second);
  }
  return due;
}

std::optional<std::string> sqlite_store::request_owner(const std::string& request_id) {
  return starts_.owner(request_id);
}

std::vector<std::string> sqlite_store::user_ids() {
  std::vector<std::string> ids;
  try {
    sqlite_statement query(db_, "SELECT id FROM users ORDER BY id");
    while (query.next_row()) ids.emplace_back(query.column_text(0));
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot list the users of the store '" + path_.string() +
                            "': " + e.what());
  }
  return ids;
}

std::size_t sqlite_store::prune(std::int64_t audit_before_ms, std::size_t max_records) {
  std::size_t pruned = 0;
  if (max_records == 0) return pruned;
  const std::int64_t now = now_ms();
  // Ids grow with time (appended, the clock never goes back), so the oldest lines are the first
  // ids: looking at the first `max_records` only keeps a call short however long the trail is.
  run_in_transaction("prune the audit trail and the remembered starts", [&] {
    starts_.discard();
    sqlite_statement prune(db_,
                           "DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id "
                           "LIMIT ?2) AND at_ms < ?1");
    prune.bind(1, audit_before_ms);
    prune.bind(2, static_cast<std::int64_t>(max_records));
    prune.execute();
    pruned = static_cast<std::size_t>(sqlite3_changes(db_.handle()));
    pruned += starts_.stage_prune(now, max_records);
  });
  starts_.apply();
  return pruned;
}

std::vector<audit_entry> sqlite_store::recent_audit(const std::string& user_id, int limit) {
  std::vector<audit_entry> entries;
  // SQLite reads a negative LIMIT as none: a bad limit must not read a whole trail.
  if (limit <= 0) return entries;
  try {
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
  } catch (const sqlite_error& e) {
    throw store_unavailable("cannot read the audit of user '" + user_id + "' from the store '" +
                            path_.string() + "': " + e.what());
  }
  return entries;
}

}  // namespace streamgate
