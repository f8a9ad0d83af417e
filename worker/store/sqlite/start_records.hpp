#pragma once

// The remembered starts of an SQLite store, one row each beside the users' states (store.hpp):
// a decision inserts its own start, never the whole request memory again. Written by the table
// writer only (table_writer.hpp); the worker's request-owner index (request_owners.hpp) learns
// from it which request ids went.
//
// Each user keeps at least its newest core::remembered_starts_per_user rows: a trim runs once it
// holds an eighth more, so a trim is rare and looks at about that many index entries; each
// user's rows are counted as row_counts.hpp says. Rows past the memory window are pruned in small
// background steps (stage_prune()).
//
// Used from one thread, inside the table writer's transactions: stage_*() write rows and note
// the request ids whose rows went; apply() hands those over once COMMIT succeeded, discard()
// drops them otherwise.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "worker/core/user_state.hpp"
#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/row_counts.hpp"

namespace streamgate {

// A request id whose row went, with the user it was of.
struct request_gone {
  std::string request_id;
  std::string user_id;
};

class start_records final {
 public:
  // The table and its index; called when the schema is created or migrated.
  static void create_table(const sqlite_db& db);
  // Rows for the starts a state of encoding version 1 held inside it (schema 4 to 5).
  static void insert_legacy(const sqlite_db& db, const std::string& user_id,
                            const std::vector<core::remembered_start>& starts);

  // `counted_users`: how many users' row counts are kept (row_counts.hpp).
  start_records(const sqlite_db& db, std::int64_t request_memory_ms, std::size_t counted_users);

  void stage_add(const std::string& user_id, const std::vector<core::remembered_start>& starts);
  void stage_remove_user(const std::string& user_id);
  // Rows decided at or before now_ms minus the memory window, at most `max`, oldest first;
  // returns how many went.
  std::size_t stage_prune(std::int64_t now_ms, std::size_t max);
  // Appends the request ids whose rows went to `gone`, in order.
  void apply(std::vector<request_gone>& gone);
  void discard();

 private:
  const std::int64_t request_memory_ms_;
  // Each user's rows: what decides a trim.
  row_counts rows_;

  // Staged by the transaction in progress, in order.
  std::vector<request_gone> gone_;

  sqlite_statement insert_;
  sqlite_statement trim_;
  sqlite_statement delete_of_user_;
  sqlite_statement prune_;
};

}  // namespace streamgate
