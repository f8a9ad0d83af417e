#pragma once

// The SQLite store's decision log (docs/design.md §8): a database file of its own beside the
// tables (`<store file>-decisions`), written by the worker's thread only. A batch's records
// (log_record.hpp) are appended in one transaction synced at COMMIT (synchronous=FULL), so a
// verdict published after it survives a crash or a power loss. The log folder (log_folder.hpp)
// applies them to the tables on a thread of its own, and a later batch's transaction deletes
// those the tables hold. A file of its own because SQLite lets one connection write a file at a
// time: folding thousands of records in one transaction (a page written once for all of them) in
// the tables' file would hold up every batch meanwhile.
//
// Each record has a seq, given by the store in commit order and never given again: the tables
// remember the last one they hold, so what a crash left in the log is applied once.
// The file names its dataset (the tables' meta dataset_id): a log never meets other tables.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "worker/store/sqlite/handle.hpp"

namespace streamgate {

struct logged_record {
  std::int64_t seq = 0;
  std::string bytes;  // encode_log_record's
};

class decision_log final {
 public:
  // The log beside the tables file `store_path`.
  static std::filesystem::path path_beside(const std::filesystem::path& store_path);

  // Opens or creates the log of dataset `dataset_id`. Throws sqlite_error, also when the file holds
  // records of another dataset (a log with none takes the dataset's id).
  decision_log(const std::filesystem::path& path, const std::string& dataset_id);

  const std::filesystem::path& path() const { return path_; }
  const sqlite_db& db() const { return db_; }

  // Its records after seq `after`, oldest first, and its last seq (0: none).
  std::vector<logged_record> records_after(std::int64_t after);
  std::int64_t last_seq();

  // A transaction of appends and clears; commit() returns once it is synced.
  void begin() { begin_.execute(); }
  void commit() { commit_.execute(); }
  void rollback() { rollback_.execute(); }
  void append(std::int64_t seq, std::string_view bytes);
  void clear_through(std::int64_t seq);

  // PRAGMA data_version: changes when another connection commits to the file.
  std::int64_t data_version();

 private:
  std::filesystem::path path_;
  sqlite_db db_;
  sqlite_statement begin_;
  sqlite_statement commit_;
  sqlite_statement rollback_;
  sqlite_statement append_;
  sqlite_statement clear_;
  sqlite_statement data_version_;
};

}  // namespace streamgate
