#pragma once

// The remembered starts of an SQLite store, one row each beside the users' states (store.hpp):
// a decision inserts its own start, never the whole request memory again. Also the in-memory
// request-owner index over those rows and the decision log's starts (request id -> user), exact
// because the worker owns the file: built at open, and changed only once a transaction that
// logged a start or changed the rows is durable.
//
// Each user keeps at least its newest core::remembered_starts_per_user rows: a trim runs once it
// holds an eighth more, so a trim is rare and looks at about that many index entries. Rows past
// the memory window are pruned in small background steps (prune()).
//
// Used from one thread, inside the store's transactions: stage_*() write rows and note their
// index changes; apply() publishes those once COMMIT succeeded, discard() drops them otherwise.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "worker/core/user_state.hpp"
#include "worker/store/sqlite/handle.hpp"

namespace streamgate {

class start_records final {
 public:
  // The table and its index; called when the schema is created or migrated.
  static void create_table(const sqlite_db& db);
  // Rows for the starts a state of encoding version 1 held inside it (schema 4 to 5).
  static void insert_legacy(const sqlite_db& db, const std::string& user_id,
                            const std::vector<core::remembered_start>& starts);

  start_records(const sqlite_db& db, std::int64_t request_memory_ms);

  // Reads every row's request id and user into the index (at open).
  void build_index();
  // The user's starts, oldest first. Throws sqlite_error.
  std::vector<core::remembered_start> of_user(const std::string& user_id);
  std::optional<std::string> owner(const std::string& request_id) const;

  // Starts committed in the decision log, not yet rows: their owners are known from now on.
  void note_decided(const std::string& user_id, const std::vector<core::remembered_start>& starts);

  void stage_add(const std::string& user_id, const std::vector<core::remembered_start>& starts);
  void stage_remove_user(const std::string& user_id);
  // Rows decided at or before now_ms minus the memory window, at most `max`, oldest first;
  // returns how many went.
  std::size_t stage_prune(std::int64_t now_ms, std::size_t max);
  void apply();
  void discard();

 private:
  // Notes a deleted row's request id, whose owner entry goes once the delete is durable.
  void note_gone(std::string request_id, const std::string& user_id);
  std::size_t rows_of(const std::string& user_id) const;

  const sqlite_db& db_;
  const std::int64_t request_memory_ms_;
  std::unordered_map<std::string, std::string> owner_of_request_;
  // Each user's rows, counted at open and kept by apply(): what decides a trim.
  std::unordered_map<std::string, std::size_t> rows_of_user_;

  // Staged by the transaction in progress, in order.
  struct index_change {
    std::string request_id;
    std::string user_id;
    bool added = false;  // else its row went
  };
  std::vector<index_change> changes_;
  std::unordered_map<std::string, std::size_t> staged_rows_;

  sqlite_statement insert_;
  sqlite_statement select_of_user_;
  sqlite_statement trim_;
  sqlite_statement delete_of_user_;
  sqlite_statement prune_;
};

}  // namespace streamgate
