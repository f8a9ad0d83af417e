#pragma once

// RAII owners of a SQLite connection and of its prepared statements. Every failure throws
// sqlite_error with SQLite's own message, so no caller checks a return code by hand.

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace streamgate {

class sqlite_error final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One connection, used from one thread (opened without SQLite's own mutexes).
class sqlite_db final {
 public:
  explicit sqlite_db(const std::string& path);  // opens, creating the file when absent

  sqlite3* handle() const { return db_.get(); }
  // Runs SQL text of one or more statements, discarding any rows.
  void exec(const char* sql) const;
  // True when the file was deleted or replaced since the connection opened it
  // (SQLITE_FCNTL_HAS_MOVED).
  bool moved() const;

 private:
  struct closer {
    void operator()(sqlite3* db) const;
  };
  std::unique_ptr<sqlite3, closer> db_;
};

// A statement prepared once and stepped many times. It refers to the raw connection, not to the
// sqlite_db object, so the owner of both may be moved.
class sqlite_statement final {
 public:
  sqlite_statement(const sqlite_db& db, std::string_view sql);

  // Parameters count from 1. Text is bound without a copy: it must outlive the next step.
  void bind(int index, std::string_view text);
  void bind(int index, std::int64_t value);
  void bind_null(int index);

  // Runs a statement that returns no rows, then resets it for the next use.
  void execute();
  // Steps a query: true with a row to read; false when done, already reset for the next use.
  bool next_row();
  // Ends a query before its last row.
  void reset();

  // Valid until the next step or reset.
  std::string_view column_text(int index) const;
  std::int64_t column_int(int index) const;
  bool column_is_null(int index) const;

 private:
  struct finalizer {
    void operator()(sqlite3_stmt* statement) const;
  };
  [[noreturn]] void fail(std::string_view what) const;

  sqlite3* db_;
  std::unique_ptr<sqlite3_stmt, finalizer> statement_;
};

}  // namespace streamgate
