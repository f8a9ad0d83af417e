// The SQLite store's life and in-memory indexes: open (lock, settings, schema, what a crash left
// in the decision log), the statements it prepares once, the lease index rebuilt at open and kept
// by commit(), what the log folder reports, and the questions those indexes answer. Reading is in
// sqlite_store_load.cpp, writing the log in sqlite_store_commit.cpp, the tables in
// table_writer.cpp (on log_folder.cpp's thread), the schema in sqlite_schema.cpp.

#include "worker/store/sqlite/sqlite_store.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "worker/store/sqlite/legacy_decision_log.hpp"
#include "worker/store/sqlite/sqlite_schema.hpp"

namespace streamgate {

std::unique_ptr<sqlite_store> sqlite_store::open(const std::filesystem::path& path,
                                                 std::size_t audit_lines_per_user,
                                                 std::int64_t request_memory_ms,
                                                 log_folder::timing fold) {
  if (audit_lines_per_user < 1)
    throw std::invalid_argument("sqlite store: an audit cap of 0 lines per user keeps no trail");
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  // Locked before SQLite opens the file: two workers starting at once never both set up or
  // migrate the schema, and a refused one never touches the file.
  auto lock = std::make_unique<store_lock>(path);
  sqlite_db db(path.string());
  sqlite_detail::configure_connection(db);
  sqlite_detail::set_up_schema(db, path);
  return std::unique_ptr<sqlite_store>(new sqlite_store(
      path, std::move(lock), std::move(db), audit_lines_per_user, request_memory_ms, fold));
}

sqlite_store::sqlite_store(std::filesystem::path path, std::unique_ptr<store_lock> lock,
                           sqlite_db db, std::size_t audit_lines_per_user,
                           std::int64_t request_memory_ms, log_folder::timing fold)
    : path_(std::move(path)),
      lock_(std::move(lock)),
      db_(std::move(db)),
      select_user_(db_, "SELECT version, state FROM users WHERE id = ?1"),
      select_version_(db_, "SELECT version FROM users WHERE id = ?1"),
      select_streams_(db_, (std::string("SELECT ") + sqlite_detail::stream_columns +
                            " FROM streams WHERE user_id = ?1 ORDER BY made_version, made_rank")),
      select_starts_(db_, "SELECT start FROM starts WHERE user_id = ?1 ORDER BY id"),
      select_audit_(db_,
                    "SELECT at_ms, type, stream_id, request_id, video_id, reason FROM audit "
                    "WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2"),
      select_meta_(db_, "SELECT value FROM meta WHERE key = ?1") {
  select_meta_.bind(1, std::string_view(sqlite_detail::dataset_id_key));
  if (select_meta_.next_row()) {
    dataset_id_ = select_meta_.column_text(0);
    select_meta_.reset();
  }
  if (dataset_id_.empty())
    throw sqlite_error("the store '" + path_.string() + "' has no dataset id");

  // What the last run committed but never folded (it crashed, or its last fold failed), applied
  // once: the tables know the last seq they hold.
  auto writer = std::make_unique<table_writer>(path_, audit_lines_per_user, request_memory_ms);
  std::vector<request_gone> gone;  // the index is built below, from the rows as they end up
  writer->fold_log_of_old_schema(gone);
  const auto log_path = decision_log::path_beside(path_);
  if (legacy_decision_log::exists_at(log_path)) {
    writer->fold(legacy_decision_log::read(log_path, dataset_id_, writer->folded_through()), gone);
    legacy_decision_log::remove(log_path);
  }
  log_ = std::make_unique<decision_log>(log_path, dataset_id_);
  folded_through_ = writer->folded_through();
  writer->fold(log_->take_records_after(folded_through_), gone);
  folded_through_ = writer->folded_through();
  next_seq_ = std::max(folded_through_, log_->last_seq()) + 1;
  log_->clear_through(next_seq_ - 1);

  owners_.build(db_);
  rebuild_lease_index();
  folder_ = std::make_unique<log_folder>(std::move(writer), folded_through_, fold);
}

sqlite_store::~sqlite_store() {
  // A clean close leaves the tables whole, for an operator's sqlite3 shell, and the log empty;
  // the next open folds whatever this could not.
  try {
    settle();
    log_->clear_through(folded_through_);
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

void sqlite_store::check_files() {
  // Writing on would commit into a file nobody will open again: every decision confirmed from
  // now on would be lost at the next start.
  if (db_.moved())
    throw store_lost("the store file '" + path_.string() +
                     "' was deleted or replaced while this worker held it");
  // And committing on after another writer appended to the log would decide on states it changed
  // unseen (a user could go above its limit): stop, as for a file moved, and let a restarted
  // worker load the files afresh. The table writer checks the tables so (table_writer.hpp).
  log_->check_own();
}

void sqlite_store::take_fold_results() {
  log_folder::results r = folder_->take();
  owners_.forget(r.gone);
  folded_through_ = r.folded_through;
  while (!unfolded_.empty() && unfolded_.front().first <= folded_through_) {
    const auto user = logged_users_.find(unfolded_.front().second);
    if (user != logged_users_.end() && --user->second.records == 0) logged_users_.erase(user);
    unfolded_.pop_front();
  }
  if (r.lost) throw store_lost(*r.lost);
}

void sqlite_store::settle() {
  folder_->settle();
  take_fold_results();
}

void sqlite_store::rebuild_lease_index() {
  // A user's next expiry is its earliest live stream's (core::next_expiry).
  sqlite_statement rows(db_, "SELECT user_id, min(expires_at_ms) FROM streams GROUP BY user_id");
  while (rows.next_row()) index(std::string(rows.column_text(0)), rows.column_int(1));
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
  return owners_.owner(request_id);
}

}  // namespace streamgate
