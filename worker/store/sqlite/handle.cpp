#include "worker/store/sqlite/handle.hpp"

#include <sqlite3.h>

#include "worker/store/sqlite/paced_writes.hpp"

namespace streamgate {

namespace {

[[noreturn]] void throw_sqlite(sqlite3* db, std::string_view what) {
  throw sqlite_error(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

sqlite_db::sqlite_db(const std::string& path) {
  // Before the process's first connection: SQLite's system calls are replaced only while none
  // is in use.
  paced_writes::install();
  sqlite3* db = nullptr;
  // NOMUTEX: the worker touches its connection from one thread only.
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  // A handle is returned even on failure (for its message) and must be closed all the same.
  db_.reset(db);
  if (rc != SQLITE_OK) throw_sqlite(db, "cannot open SQLite database '" + path + "'");
}

void sqlite_db::exec(const char* sql) const {
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr) != SQLITE_OK)
    throw_sqlite(db_.get(), std::string("SQL failed (") + sql + ")");
}

bool sqlite_db::moved() const {
  int moved = 0;
  if (sqlite3_file_control(db_.get(), "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK)
    throw_sqlite(db_.get(), "cannot check whether the file has moved");
  return moved != 0;
}

void sqlite_db::closer::operator()(sqlite3* db) const { sqlite3_close_v2(db); }

sqlite_statement::sqlite_statement(const sqlite_db& db, std::string_view sql) : db_(db.handle()) {
  sqlite3_stmt* statement = nullptr;
  // PERSISTENT: the statement lives as long as the store, so SQLite may keep it out of its
  // lookaside memory.
  if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &statement, nullptr) != SQLITE_OK)
    throw_sqlite(db_, "cannot prepare '" + std::string(sql) + "'");
  statement_.reset(statement);
}

void sqlite_statement::bind(int index, std::string_view text) {
  // SQLite binds a null pointer as NULL; an empty view is still text.
  const char* data = text.data() ? text.data() : "";
  if (sqlite3_bind_text(statement_.get(), index, data, static_cast<int>(text.size()),
                        SQLITE_STATIC) != SQLITE_OK)
    fail("cannot bind a text parameter");
}

void sqlite_statement::bind(int index, std::int64_t value) {
  if (sqlite3_bind_int64(statement_.get(), index, value) != SQLITE_OK)
    fail("cannot bind an integer parameter");
}

void sqlite_statement::bind_null(int index) {
  if (sqlite3_bind_null(statement_.get(), index) != SQLITE_OK) fail("cannot bind a null parameter");
}

void sqlite_statement::execute() {
  if (!next_row()) return;
  reset();
  throw sqlite_error("'" + std::string(sqlite3_sql(statement_.get())) +
                     "' returned a row where none was expected");
}

bool sqlite_statement::next_row() {
  const int rc = sqlite3_step(statement_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) {
    sqlite3_reset(statement_.get());
    return false;
  }
  // Take the message before the reset, then leave the statement ready for a later use.
  const std::string message = sqlite3_errmsg(db_);
  sqlite3_reset(statement_.get());
  throw sqlite_error("'" + std::string(sqlite3_sql(statement_.get())) + "' failed: " + message);
}

void sqlite_statement::reset() { sqlite3_reset(statement_.get()); }

std::string_view sqlite_statement::column_text(int index) const {
  const auto* text = sqlite3_column_text(statement_.get(), index);
  if (!text) return {};
  // column_bytes after column_text: the length of the text just converted.
  return {reinterpret_cast<const char*>(text),
          static_cast<std::size_t>(sqlite3_column_bytes(statement_.get(), index))};
}

std::int64_t sqlite_statement::column_int(int index) const {
  return sqlite3_column_int64(statement_.get(), index);
}

bool sqlite_statement::column_is_null(int index) const {
  return sqlite3_column_type(statement_.get(), index) == SQLITE_NULL;
}

void sqlite_statement::fail(std::string_view what) const {
  throw sqlite_error(std::string(what) + " in '" + sqlite3_sql(statement_.get()) +
                     "': " + sqlite3_errmsg(db_));
}

void sqlite_statement::finalizer::operator()(sqlite3_stmt* statement) const {
  sqlite3_finalize(statement);
}

}  // namespace streamgate
