#pragma once

// The embedded store: one SQLite file in WAL mode, owned by one worker (docs/design.md §8).
// A batch's commits are one transaction (group commit) that appends one record per committed user
// to the decision log (log_record.hpp), synced before commit() returns (synchronous=FULL), so a
// verdict published after commit() survives a crash or a power loss. Appending keeps a decision to
// the log's last page or two, where writing a user's row, its start and its audit line in place
// wrote about five scattered pages per decision (bench/README.md). The log is folded into the
// tables (a user's state is one row of its version and encode_state's bytes without its live
// streams; each live stream, start and audit line is a row beside it) in the background, on every read that needs the tables, at a
// removal, and at open (what a crash left in the log). Because the worker is the file's only
// writer, the lease index and the request-owner index (start_records.hpp) live in memory, rebuilt
// from the rows at open, and a cached state never goes stale (exclusive()).
//
// Used from one thread. Every method but open() throws store_unavailable when SQLite fails, and
// commit() throws store_lost when the file was deleted or replaced under the store.
//
// Its parts: sqlite_store.cpp (open, the indexes), sqlite_store_load.cpp (reading),
// sqlite_store_commit.cpp (writing the log), sqlite_store_fold.cpp (the log into the tables),
// sqlite_schema.cpp (tables and migrations), store_lock.cpp.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/log_record.hpp"
#include "worker/store/sqlite/start_records.hpp"
#include "worker/store/sqlite/store_lock.hpp"
#include "worker/store/sqlite/wal_checkpointer.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

class sqlite_store final : public store {
 public:
  // Locks the file, then creates its parent directory, the file and the schema, or migrates an
  // older schema. Throws store_in_use; sqlite_error when the file cannot be read or has a newer
  // schema; std::system_error / std::filesystem::filesystem_error for the lock file or directory.
  // Each user keeps at most `audit_lines_per_user` audit lines (the newest), like Redis does, and
  // its starts for `request_memory_ms` (rules::request_memory_ms).
  static std::unique_ptr<sqlite_store> open(const std::filesystem::path& path,
                                            std::size_t audit_lines_per_user = 1000,
                                            std::int64_t request_memory_ms = 600'000);
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  // The worker's background step (prune(), every 25 ms) folds this many records, or a quarter
  // of the log when it fell behind: small steps, so a fold never stalls a batch for long.
  static constexpr std::size_t fold_step_records = 512;
  // A log this long is folded whole at the commit that reaches it: only a store driven without
  // background steps (a tool, a test) or far beyond their pace gets there.
  static constexpr std::size_t fold_at_records = 16384;

  const std::string& dataset_id() const override { return dataset_id_; }
  bool exclusive() const override { return true; }

  bool seeded() override;
  void seed(const dataset_catalog& catalog, const std::vector<core::user_state>& users) override;
  dataset_catalog load_catalog() override;
  loaded_users load(const std::vector<std::string>& user_ids,
                    const std::vector<std::string>& request_ids = {}) override;
  std::vector<commit_status> commit(const std::vector<user_commit>& commits) override;
  std::vector<std::string> due_users(std::int64_t now_ms, std::size_t max) override;
  std::optional<std::string> request_owner(const std::string& request_id) override;
  std::vector<std::string> user_ids() override;
  std::size_t prune(std::int64_t audit_before_ms, std::size_t max_records) override;
  // The worker caches every user of its exclusive store and sums them itself.
  std::optional<std::uint64_t> active_streams() override { return std::nullopt; }
  std::vector<audit_entry> recent_audit(const std::string& user_id, int limit) override;

 private:
  sqlite_store(std::filesystem::path path, std::unique_ptr<store_lock> lock, sqlite_db db,
               std::size_t audit_lines_per_user, std::int64_t request_memory_ms);

  // Applies the oldest `max_records` logged records to the tables and deletes them from the log,
  // in one transaction.
  void fold_log(std::size_t max_records = std::numeric_limits<std::size_t>::max());
  // Reads the oldest `max_records` records into `records`; returns the last one's seq.
  std::int64_t read_log(std::size_t max_records, std::vector<log_record>& records);
  // Writes what `r` says to the tables; its state only when it is its user's last record of the
  // fold. `audit_lines`: each user's audit line count as the fold leaves it.
  void apply_log_record(const log_record& r, bool last_of_its_user,
                        std::unordered_map<std::string, std::size_t>& audit_lines);
  void apply_stream_changes(const log_record& r);
  // The whole log, when it holds anything.
  void fold_if_logged() {
    if (logged_ > 0) fold_log();
  }
  // The version `user_id` has with this batch's records (`staged`) and the log's on top of the
  // tables; 0 when it does not exist.
  std::uint64_t version_of(const std::string& user_id,
                           const std::unordered_map<std::string, std::uint64_t>& staged);
  // The wall clock, never going backwards (a clock step back would shorten no lease granted).
  std::int64_t now_ms();
  void check_not_moved();
  // The states this store caches are the file's only while no other connection commits to it
  // (SQLite's exclusive locking mode would shut out the WAL copier's connection too).
  void check_sole_writer();
  void rebuild_lease_index();
  void count_audit_lines();
  // Deletes the user's lines older than its newest audit_cap_ once it holds a few more (so a
  // trim is rare, and each one looks at about audit_cap_ index entries); returns the lines kept.
  std::size_t trim_audit(const std::string& user_id, std::size_t lines);
  // Changes a user's lease index entry to that of a state just committed.
  void index(const std::string& user_id, std::optional<std::int64_t> next_expiry);
  // Runs `body` in one write transaction, rolled back when it throws; SQLite's failures become
  // store_unavailable naming `what`.
  // `synced`: synced at COMMIT (synchronous=FULL), as everything a verdict rests on must be; a
  // fold or a prune is not (NORMAL): lost with a power loss, it leaves what it would have
  // changed, and the next synced commit makes it durable with it (the WAL is written in order).
  void run_in_transaction(const char* what, const std::function<void()>& body,
                          bool synced = true);

  std::filesystem::path path_;
  // Declared before the connection: released only after SQLite has closed the file.
  std::unique_ptr<store_lock> lock_;
  // Declared before the statements, so that they are finalized before the connection closes.
  sqlite_db db_;
  std::string dataset_id_;
  std::int64_t last_now_ms_ = 0;
  std::int64_t data_version_ = 0;  // PRAGMA data_version: changes with another's commit only

  // The lease index: every user with a live stream, by its earliest expiry. Exact (a user's entry
  // is replaced at each commit), so a due user really has a lapsed lease in its latest state.
  std::set<std::pair<std::int64_t, std::string>> by_expiry_;
  std::unordered_map<std::string, std::int64_t> expiry_of_;
  // Records in the log; for each user they name, its version once they are applied (0: removed)
  // and how many of them are its.
  struct logged_user {
    std::uint64_t version = 0;
    std::size_t records = 0;
  };
  std::size_t logged_ = 0;
  std::unordered_map<std::string, logged_user> logged_users_;
  // The per-user audit cap (hardening: the trail grew without bound) and each user's line count,
  // counted at open and kept by commit(); an upper bound, as retention prunes lines unseen here.
  const std::size_t audit_cap_;
  std::unordered_map<std::string, std::size_t> audit_lines_of_user_;

  sqlite_statement begin_;
  sqlite_statement commit_;
  sqlite_statement rollback_;
  sqlite_statement select_user_;
  sqlite_statement select_version_;
  sqlite_statement insert_user_;
  sqlite_statement upsert_user_;
  sqlite_statement delete_user_;
  sqlite_statement select_streams_;
  sqlite_statement insert_stream_;
  sqlite_statement renew_stream_;
  sqlite_statement delete_stream_;
  sqlite_statement delete_streams_of_user_;
  sqlite_statement append_log_;
  sqlite_statement read_log_;
  sqlite_statement clear_log_;
  bool synced_ = true;  // synchronous=FULL (configure_connection) rather than NORMAL
  sqlite_statement sync_full_;
  sqlite_statement sync_normal_;
  sqlite_statement delete_audit_;
  sqlite_statement insert_audit_;
  sqlite_statement prune_audit_;
  sqlite_statement select_audit_;
  sqlite_statement trim_audit_;
  sqlite_statement upsert_video_;
  sqlite_statement upsert_plan_;
  sqlite_statement select_meta_;
  sqlite_statement upsert_meta_;
  sqlite_statement select_data_version_;
  start_records starts_;  // after db_: its statements are finalized before the connection closes
  // Last: stopped first, so the writer's connection, closed after it, copies what is left.
  wal_checkpointer checkpointer_;
};

}  // namespace streamgate
