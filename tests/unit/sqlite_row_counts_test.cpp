// The SQLite store's bounded per-user row counts (worker/store/sqlite/row_counts.hpp), on a real
// database file: counted once and then kept, staged per transaction, forgotten past the bound.

#include <catch2/catch.hpp>
#include <cstddef>
#include <optional>
#include <string>

#include "tests/unit/temp_dir.hpp"
#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/row_counts.hpp"

namespace streamgate::row_counts_test {

namespace {

// A table of `rows` per user, as the starts and audit tables are.
void add_rows(const sqlite_db& db, const std::string& user_id, int rows) {
  sqlite_statement insert(db, "INSERT INTO lines (user_id) VALUES (?1)");
  for (int i = 0; i < rows; ++i) {
    insert.bind(1, user_id);
    insert.execute();
  }
}

}  // namespace

TEST_CASE("a user's rows are counted once, then known; past the bound all counts are forgotten",
          "[sqlite_store][row_counts]") {
  test::temp_dir dir;
  sqlite_db db((dir.path() / "x.db").string());
  db.exec("CREATE TABLE lines (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL)");
  add_rows(db, "alice", 3);
  add_rows(db, "bob", 5);
  row_counts counts(db, "SELECT count(*) FROM lines WHERE user_id = ?1", 1);

  CHECK_FALSE(counts.known("alice"));
  CHECK(counts.of("alice") == 3);
  CHECK(counts.known("alice") == std::optional<std::size_t>(3));
  CHECK(counts.of("nobody") == 0);

  SECTION("a failed transaction keeps nothing it counted or staged") {
    counts.stage("alice", 4);
    counts.discard();
    CHECK_FALSE(counts.known("alice"));
    CHECK(counts.of("alice") == 3);
  }
  SECTION("a committed one keeps its counts, which are no longer read from the table") {
    counts.apply();
    CHECK(counts.users_known() == 1);  // a user of no rows is not kept
    add_rows(db, "alice", 1);          // as the next transaction adds them, after of()
    CHECK(counts.of("alice") == 3);
    counts.stage("alice", 4);
    counts.apply();
    CHECK(counts.known("alice") == std::optional<std::size_t>(4));
    CHECK(counts.users_known() == 1);

    // A second user is past the bound of 1: both are forgotten, and counted again when asked.
    CHECK(counts.of("bob") == 5);
    counts.apply();
    CHECK(counts.users_known() == 0);
    CHECK_FALSE(counts.known("alice"));
    CHECK(counts.of("alice") == 4);
    CHECK(counts.of("bob") == 5);
  }
}

}  // namespace streamgate::row_counts_test
