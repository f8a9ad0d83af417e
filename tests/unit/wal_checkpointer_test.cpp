// The SQLite store's WAL copier (worker/store/sqlite/wal_checkpointer.hpp) on a real file: a
// writer in autocommit mode, one transaction of about one page per insert, and a small copy
// threshold so that a test writes a few megabytes, not the store's 64 MiB.

#include "worker/store/sqlite/wal_checkpointer.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <string>

#include "tests/unit/temp_dir.hpp"
#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/sqlite_schema.hpp"

namespace streamgate {

namespace {

constexpr int inserts = 2000;
constexpr int blob_bytes = 3000;  // about one 4 KiB page per insert
constexpr int copy_at_frames = 64;

std::string count_of(const std::filesystem::path& file) {
  sqlite_db reader(file.string());
  sqlite_statement count(reader, "SELECT count(*), sum(length(v)) FROM t");
  REQUIRE(count.next_row());
  const std::string text = std::to_string(count.column_int(0)) + " rows, " +
                           std::to_string(count.column_int(1)) + " bytes";
  count.reset();
  return text;
}

}  // namespace

TEST_CASE("a long WAL is copied into the file while the writer writes on, and starts again",
          "[sqlite_store][wal]") {
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  const std::filesystem::path wal = file.string() + "-wal";
  {
    sqlite_db writer(file.string());
    sqlite_detail::configure_connection(writer);
    writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
    wal_checkpointer checkpointer(file, writer, copy_at_frames);
    sqlite_statement insert(writer, "INSERT INTO t (v) VALUES (zeroblob(?1))");
    // What the store checks to know it is the file's only writer (check_sole_writer).
    sqlite_statement data_version(writer, "PRAGMA data_version");
    REQUIRE(data_version.next_row());
    const std::int64_t version_before = data_version.column_int(0);
    data_version.reset();
    for (int i = 0; i < inserts; ++i) {
      insert.bind(1, std::int64_t{blob_bytes});
      insert.execute();
    }
    // Copied while the writer was open: the file holds most of the rows already (all but what
    // came after the last copy, at most twice the threshold in pages)...
    CHECK(std::filesystem::file_size(file) >=
          std::uintmax_t{inserts - 2 * copy_at_frames - 64} * blob_bytes);
    // ...and the WAL started again each time it was all copied, so it never grew to the ~8 MB
    // of every insert: it stays within about twice the threshold (pages of 4 KiB and a header).
    CHECK(std::filesystem::file_size(wal) < std::uintmax_t{4 * copy_at_frames} * 4120);
    CHECK(count_of(file) ==
          std::to_string(inserts) + " rows, " + std::to_string(inserts * blob_bytes) + " bytes");
    // Copies and restarts of the WAL are no other writer's commits.
    REQUIRE(data_version.next_row());
    CHECK(data_version.column_int(0) == version_before);
    data_version.reset();
  }
  // Closed (the copier first, then the writer, which copies the rest): everything is in the file.
  CHECK(count_of(file) ==
        std::to_string(inserts) + " rows, " + std::to_string(inserts * blob_bytes) + " bytes");
}

}  // namespace streamgate
