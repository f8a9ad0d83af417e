#pragma once

// Writes the SQLite store's tables (docs/design.md §8) through a connection of its own: folds
// decision log records into them, seeds them, prunes the audit trail and the remembered starts.
// Used from one thread at a time: the opening thread at open, then the log folder's thread
// (log_folder.hpp) only.
//
// A fold applies the records in commit order, in one transaction that also records the last seq
// it holds (meta log_folded_through), synced at COMMIT: the worker deletes folded records from the
// log only then. What a record says is applied as it says: the version check was made when it was
// committed. A user's state is written once per fold, from its last record in it (a hot user's
// many decisions are one row write); its stream rows as its records leave them (a stream made
// and ended within the fold is never written, fold_streams.hpp); its starts and audit lines are
// all written, in order. The per-user caps on starts and audit lines are kept here
// (start_records::stage_add, trim_audit), from counts read when first needed (row_counts.hpp).
//
// Every method throws sqlite_error when SQLite fails, and store_lost when the file was deleted or
// replaced, or written by another connection.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "worker/store/sqlite/decision_log.hpp"
#include "worker/store/sqlite/fold_streams.hpp"
#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/log_record.hpp"
#include "worker/store/sqlite/row_counts.hpp"
#include "worker/store/sqlite/start_records.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

class table_writer final {
 public:
  // The tables file at `path`, whose schema is set up (sqlite_detail::set_up_schema).
  table_writer(const std::filesystem::path& path, std::size_t audit_lines_per_user,
               std::int64_t request_memory_ms);

  // The seq of the last record the tables hold (0: none yet).
  std::int64_t folded_through();
  // Applies `records` (seqs growing, all after folded_through()) in one transaction. The request
  // ids whose rows went are appended to `gone`.
  void fold(const std::vector<logged_record>& records, std::vector<request_gone>& gone);
  // A log kept inside the tables file by a worker of schema 7 or before (what it left unfolded):
  // folded, and the table dropped.
  void fold_log_of_old_schema(std::vector<request_gone>& gone);
  // Audit lines older than `audit_before_ms` and starts past their memory at `now_ms`, at most
  // `max` of each, oldest first; returns how many went.
  std::size_t prune(std::int64_t audit_before_ms, std::int64_t now_ms, std::size_t max,
                    std::vector<request_gone>& gone);
  // Inserts the users not stored yet, upserts the catalog and marks the tables seeded; returns
  // the users inserted.
  std::vector<const core::user_state*> seed(const dataset_catalog& catalog,
                                            const std::vector<core::user_state>& users);

 private:
  // Runs `body` in one write transaction, rolled back when it throws, after checking that no one
  // else wrote or replaced the file. `synced`: at COMMIT (synchronous=FULL), as a fold must be
  // before the log drops its records; a prune is not (NORMAL): lost with a power loss, it leaves
  // what it would have deleted, and the next synced commit makes it durable with it.
  void run_in_transaction(const std::function<void()>& body, bool synced = true);
  void check_file();
  // In order; a user's state only from its last record among them, its stream rows from the
  // net of its records (fold_streams.hpp), written after them.
  void apply_all(const std::vector<log_record>& records);
  // All of a record but its stream changes.
  void apply(const log_record& r, bool last_of_its_user);
  void write_streams(const std::string& user_id, const fold_streams& streams);
  // Deletes the user's lines older than its newest audit_cap_ once it holds a few more (so a
  // trim is rare, and each one looks at about audit_cap_ index entries); returns the lines it then
  // holds, or more (an upper bound, as every count here is).
  std::size_t trim_audit(const std::string& user_id, std::size_t lines);

  std::filesystem::path path_;
  sqlite_db db_;
  std::int64_t data_version_ = 0;  // PRAGMA data_version: changes with another's commit only
  // The per-user audit cap (hardening: the trail grew without bound).
  const std::size_t audit_cap_;

  sqlite_statement begin_;
  sqlite_statement commit_;
  sqlite_statement rollback_;
  sqlite_statement insert_user_;
  sqlite_statement upsert_user_;
  sqlite_statement delete_user_;
  sqlite_statement insert_stream_;
  sqlite_statement renew_stream_;
  sqlite_statement delete_stream_;
  sqlite_statement delete_streams_of_user_;
  sqlite_statement delete_audit_;
  sqlite_statement insert_audit_;
  sqlite_statement prune_audit_;
  sqlite_statement trim_audit_;
  sqlite_statement upsert_video_;
  sqlite_statement upsert_plan_;
  sqlite_statement upsert_meta_;
  sqlite_statement select_data_version_;
  bool synced_ = true;  // synchronous=FULL (configure_connection) rather than NORMAL
  sqlite_statement sync_full_;
  sqlite_statement sync_normal_;
  // After db_: their statements are finalized before the connection closes.
  start_records starts_;
  // Each user's audit lines, kept by the fold (row_counts.hpp); an upper bound, as retention
  // prunes lines unseen here.
  row_counts audit_lines_;
};

}  // namespace streamgate
