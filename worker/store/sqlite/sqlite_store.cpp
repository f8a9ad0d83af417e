// The SQLite store's life and in-memory indexes: open (lock, settings, schema, what a crash left
// in the decision log), the statements it prepares once, the lease index and audit line counts
// rebuilt at open and kept by commit() and the fold, and the questions those indexes answer.
// Reading is in sqlite_store_load.cpp, writing in sqlite_store_commit.cpp and
// sqlite_store_fold.cpp, the schema in sqlite_schema.cpp.

#include "worker/store/sqlite/sqlite_store.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>

#include "worker/store/sqlite/sqlite_schema.hpp"

namespace streamgate {

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
  sqlite_detail::configure_connection(db);
  sqlite_detail::set_up_schema(db, path);
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
      select_version_(db_, "SELECT version FROM users WHERE id = ?1"),
      insert_user_(db_, sqlite_detail::insert_user_sql),
      upsert_user_(db_,
                   "INSERT INTO users (id, version, state) VALUES (?1, ?2, CAST(?3 AS BLOB)) "
                   "ON CONFLICT (id) DO UPDATE SET version = excluded.version, "
                   "state = excluded.state"),
      delete_user_(db_, "DELETE FROM users WHERE id = ?1"),
      select_streams_(db_, (std::string("SELECT ") + sqlite_detail::stream_columns +
                             " FROM streams WHERE user_id = ?1 ORDER BY made_version, made_rank")),
      insert_stream_(db_, sqlite_detail::insert_stream_sql),
      renew_stream_(db_,
                    "UPDATE streams SET expires_at_ms = ?3 WHERE user_id = ?1 AND stream_id = ?2"),
      delete_stream_(db_, "DELETE FROM streams WHERE user_id = ?1 AND stream_id = ?2"),
      delete_streams_of_user_(db_, "DELETE FROM streams WHERE user_id = ?1"),
      append_log_(db_, "INSERT INTO decision_log (record) VALUES (CAST(?1 AS BLOB))"),
      read_log_(db_, "SELECT seq, record FROM decision_log ORDER BY seq LIMIT ?1"),
      clear_log_(db_, "DELETE FROM decision_log WHERE seq <= ?1"),
      sync_full_(db_, "PRAGMA synchronous=FULL"),
      sync_normal_(db_, "PRAGMA synchronous=NORMAL"),
      delete_audit_(db_, "DELETE FROM audit WHERE user_id = ?1"),
      insert_audit_(db_,
                    "INSERT INTO audit (user_id, at_ms, type, stream_id, request_id, video_id, "
                    "reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      // Ids grow with time (appended, the clock never goes back), so the oldest lines are the
      // first ids: looking at the first `max_records` only keeps a step short however long the
      // trail is.
      prune_audit_(db_,
                   "DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id LIMIT ?2) "
                   "AND at_ms < ?1"),
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
      select_data_version_(db_, "PRAGMA data_version"),
      starts_(db_, request_memory_ms),
      checkpointer_(path_, db_) {
  select_meta_.bind(1, std::string_view(sqlite_detail::dataset_id_key));
  if (select_meta_.next_row()) {
    dataset_id_ = select_meta_.column_text(0);
    select_meta_.reset();
  }
  if (dataset_id_.empty())
    throw sqlite_error("the store '" + path_.string() + "' has no dataset id");
  starts_.build_index();
  count_audit_lines();
  // What the last run committed but never folded (it crashed, or its last fold failed).
  logged_ = static_cast<std::size_t>(
      sqlite_detail::read_int(db_, "SELECT count(*) FROM decision_log"));
  fold_if_logged();
  rebuild_lease_index();
  if (!select_data_version_.next_row()) throw sqlite_error("PRAGMA data_version returned no row");
  data_version_ = select_data_version_.column_int(0);
  select_data_version_.reset();
}

sqlite_store::~sqlite_store() {
  // A clean close leaves the tables whole, for an operator's sqlite3 shell; the next open folds
  // whatever this could not.
  try {
    fold_if_logged();
  } catch (const std::exception& e) {
    spdlog::warn("the decision log was not folded at close; the next open folds it: {}", e.what());
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

void sqlite_store::check_sole_writer() {
  if (!select_data_version_.next_row()) throw sqlite_error("PRAGMA data_version returned no row");
  const std::int64_t now = select_data_version_.column_int(0);
  select_data_version_.reset();
  // Committing on would decide on states another writer changed unseen (a user could go above
  // its limit): stop, as for a file moved, and let a restarted worker load the file afresh.
  if (now != data_version_)
    throw store_lost("another process wrote the store file '" + path_.string() +
                     "' while this worker held it");
}

void sqlite_store::rebuild_lease_index() {
  // A user's next expiry is its earliest live stream's (core::next_expiry).
  sqlite_statement rows(db_,
                        "SELECT user_id, min(expires_at_ms) FROM streams GROUP BY user_id");
  while (rows.next_row()) index(std::string(rows.column_text(0)), rows.column_int(1));
}

void sqlite_store::count_audit_lines() {
  sqlite_statement counts(db_, "SELECT user_id, count(*) FROM audit GROUP BY user_id");
  while (counts.next_row())
    audit_lines_of_user_[std::string(counts.column_text(0))] =
        static_cast<std::size_t>(counts.column_int(1));
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

}  // namespace streamgate
