// SQLite's writes paced in chunks (worker/store/sqlite/paced_writes.hpp), on a real database file
// in WAL mode as the store keeps its tables: a transaction of a few MiB leaves in chunks while it
// is written, and what it wrote reads back whole after a reopen.

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>

#include "tests/unit/temp_dir.hpp"
#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/paced_writes.hpp"

namespace streamgate::paced_writes_test {

TEST_CASE("a transaction of 4 MiB is written out in chunks as it goes and reads back whole",
          "[sqlite_store][paced_writes]") {
  test::temp_dir dir;
  const std::string path = (dir.path() / "paced.db").string();
  constexpr int rows = 1024;
  const std::string value(4096, 'v');
  {
    sqlite_db db(path);
    REQUIRE(paced_writes::install());
    db.exec("PRAGMA journal_mode=WAL; CREATE TABLE blobs (id INTEGER PRIMARY KEY, value BLOB)");
    const std::uint64_t before = paced_writes::chunks_written();
    db.exec("BEGIN");
    sqlite_statement insert(db, "INSERT INTO blobs (value) VALUES (?1)");
    for (int i = 0; i < rows; ++i) {
      insert.bind(1, value);
      insert.execute();
    }
    db.exec("COMMIT");
    // Over 4 MiB of pages reach the WAL at the commit: one chunk per 256 KiB, less the last one's
    // remainder, which the commit's own sync writes.
    CHECK(paced_writes::chunks_written() - before >=
          rows * value.size() / paced_writes::chunk_bytes - 1);
  }
  sqlite_db reopened(path);
  sqlite_statement read(reopened, "SELECT count(*), sum(length(value)) FROM blobs");
  REQUIRE(read.next_row());
  CHECK(read.column_int(0) == rows);
  CHECK(read.column_int(1) == rows * static_cast<std::int64_t>(value.size()));
  read.reset();
}

}  // namespace streamgate::paced_writes_test
