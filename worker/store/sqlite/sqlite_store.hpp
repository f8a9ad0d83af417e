#pragma once

// The embedded store, owned by one worker (docs/design.md §8): the tables in one SQLite file in
// WAL mode, and the decision log in a folder beside it (decision_log.hpp). A batch's commits are
// one append (group commit) of one record per committed user to the log, synced before commit()
// returns, so a verdict published after commit() survives a crash or a power loss. Appending keeps
// a decision to the log's last page or two, where writing a user's row, its start and its audit
// line in place wrote about five scattered pages per decision (bench/README.md). The log is folded
// into the tables (a user's state is one row of its version and encode_state's bytes without its
// live streams; each live stream, start and audit line is a row beside it) on a thread of its own
// (log_folder.hpp) in large transactions, and at open (what a crash left in the log). A read that
// needs the tables (a user decided since its last fold, the user list, an audit trail) waits for
// the fold. Because the worker is the files' only writer, the lease index and the request-owner
// index (request_owners.hpp) live in memory, rebuilt from the rows at open, and a cached state
// never goes stale (exclusive()).
//
// Used from one thread. Every method but open() throws store_unavailable when SQLite or the log
// fails, and commit() throws store_lost when a file was deleted or replaced under the store, or
// written by another process.
//
// Its parts: sqlite_store.cpp (open, the indexes), sqlite_store_load.cpp (reading),
// sqlite_store_commit.cpp (writing the log), log_folder.cpp and table_writer.cpp (the log into
// the tables), sqlite_schema.cpp (tables and migrations), store_lock.cpp.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "worker/store/sqlite/decision_log.hpp"
#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/log_folder.hpp"
#include "worker/store/sqlite/request_owners.hpp"
#include "worker/store/sqlite/store_lock.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

class sqlite_store final : public store {
 public:
  // Locks the file, then creates its parent directory, the file and the schema, or migrates an
  // older schema. Throws store_in_use; sqlite_error when the file cannot be read or has a newer
  // schema; std::system_error / std::filesystem::filesystem_error for the lock file or directory.
  // Each user keeps at most `audit_lines_per_user` audit lines (the newest), like Redis does, and
  // its starts for `request_memory_ms` (rules::request_memory_ms).
  // `fold`: when the log folder folds (tests fold on demand with a long fold_after).
  static std::unique_ptr<sqlite_store> open(const std::filesystem::path& path,
                                            std::size_t audit_lines_per_user = 1000,
                                            std::int64_t request_memory_ms = 600'000,
                                            log_folder::timing fold = {});
  ~sqlite_store() override;
  sqlite_store(const sqlite_store&) = delete;
  sqlite_store& operator=(const sqlite_store&) = delete;

  // Committed records the folder may have waiting before a commit waits for it: a bound on
  // memory and on the log when the tables cannot be written.
  static constexpr std::size_t max_unfolded_records = 65536;

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
  // What it keeps per user beside the tables (logged users, request owners) goes with the
  // user's log records and starts rows: nothing to forget.
  void forget(const std::vector<std::string>&) override {}
  std::vector<audit_entry> recent_audit(const std::string& user_id, int limit) override;
  // The file's lock keeps every other worker out (store_lock.hpp): this one is the only life.
  std::vector<std::string> live_workers(const std::string& life, std::int64_t) override {
    return {life};
  }
  void end_life(const std::string&) override {}
  // Its one worker's flags are its settings (worker/server/dataset_settings.hpp).
  std::optional<std::string> settings() override { return std::nullopt; }
  void set_settings(const std::string&) override {}
  std::string announce_settings(const std::string& text, std::int64_t) override { return text; }
  bool take_seeding(std::int64_t) override { return true; }
  // Waits until the tables hold every commit (a tool or a test about to read the file).
  void settle();

 private:
  sqlite_store(std::filesystem::path path, std::unique_ptr<store_lock> lock, sqlite_db db,
               std::size_t audit_lines_per_user, std::int64_t request_memory_ms,
               log_folder::timing fold);

  // What the folder did since the last call: drops the records the tables hold from the logged
  // users, forgets the request ids whose starts went. Throws store_lost when folding stopped.
  void take_fold_results();
  // The version `user_id` has with this batch's records (`staged`) and the log's on top of the
  // tables; 0 when it does not exist.
  std::uint64_t version_of(const std::string& user_id,
                           const std::unordered_map<std::string, std::uint64_t>& staged);
  // The wall clock, never going backwards (a clock step back would shorten no lease granted).
  std::int64_t now_ms();
  void check_files();
  void rebuild_lease_index();
  // Changes a user's lease index entry to that of a state just committed.
  void index(const std::string& user_id, std::optional<std::int64_t> next_expiry);

  std::filesystem::path path_;
  // Declared before the connections: released only after SQLite has closed the files.
  std::unique_ptr<store_lock> lock_;
  // The tables, read on this thread; the folder's table writer has a connection of its own.
  // Declared before the statements, so that they are finalized before the connection closes.
  sqlite_db db_;
  std::string dataset_id_;
  std::int64_t last_now_ms_ = 0;
  std::unique_ptr<decision_log> log_;
  std::int64_t next_seq_ = 1;
  std::int64_t folded_through_ = 0;   // the tables hold every record up to this seq

  // The lease index: every user with a live stream, by its earliest expiry. Exact (a user's entry
  // is replaced at each commit), so a due user really has a lapsed lease in its latest state.
  std::set<std::pair<std::int64_t, std::string>> by_expiry_;
  std::unordered_map<std::string, std::int64_t> expiry_of_;
  // Records committed and not folded yet, in commit order; for each user they name, its version
  // once they are applied (0: removed) and how many of them are its.
  struct logged_user {
    std::uint64_t version = 0;
    std::size_t records = 0;
  };
  std::deque<std::pair<std::int64_t, std::string>> unfolded_;  // seq, user
  std::unordered_map<std::string, logged_user> logged_users_;
  request_owners owners_;

  sqlite_statement select_user_;
  sqlite_statement select_version_;
  sqlite_statement select_streams_;
  sqlite_statement select_starts_;
  sqlite_statement select_audit_;
  sqlite_statement select_meta_;
  // Last: stopped first, folding what waits, so a clean close leaves the tables whole.
  std::unique_ptr<log_folder> folder_;
};

}  // namespace streamgate
