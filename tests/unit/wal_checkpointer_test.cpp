// The SQLite store's WAL copier (worker/store/sqlite/wal_checkpointer.hpp) on a real file: a
// writer in autocommit mode, one transaction of about one page per insert, and small copy
// thresholds so that a test writes a few megabytes, not the store's 64 MiB.

#include "worker/store/sqlite/wal_checkpointer.hpp"

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "tests/support/wait.hpp"
#include "tests/unit/temp_dir.hpp"
#include "worker/store/sqlite/handle.hpp"
#include "worker/store/sqlite/sqlite_schema.hpp"

namespace streamgate {

namespace {

constexpr int blob_bytes = 3000;  // about one 4 KiB page per insert
constexpr std::uintmax_t frame_bytes = 4096 + 24;  // a page and its frame header

std::uintmax_t wal_frames(const std::filesystem::path& wal) {
  const std::uintmax_t size = std::filesystem::exists(wal) ? std::filesystem::file_size(wal) : 0;
  return size > 32 ? (size - 32) / frame_bytes : 0;
}

sqlite_db table_writer(const std::filesystem::path& file) {
  sqlite_db writer(file.string());
  sqlite_detail::configure_connection(writer);
  writer.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)");
  return writer;
}

// A writer of one table with the copier on its connection; members end in reverse order, so the
// copier stops before the writer's connection closes (and copies the rest), as in the store.
struct copied_writer {
  copied_writer(const std::filesystem::path& file, int copy_at_frames)
      : writer(table_writer(file)), checkpointer(file, writer, copy_at_frames) {}

  void insert_page() {
    insert.bind(1, std::int64_t{blob_bytes});
    insert.execute();
  }
  // What the store checks to know it is the file's only writer (check_sole_writer).
  std::int64_t data_version() {
    REQUIRE(data_version_query.next_row());
    const std::int64_t version = data_version_query.column_int(0);
    data_version_query.reset();
    return version;
  }

  sqlite_db writer;
  wal_checkpointer checkpointer;
  sqlite_statement insert{writer, "INSERT INTO t (v) VALUES (zeroblob(?1))"};
  sqlite_statement data_version_query{writer, "PRAGMA data_version"};
};

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

TEST_CASE("the copier's own thread copies a long WAL into the file while the writer is idle",
          "[sqlite_store][wal]") {
  // Above writer_copies_below: reaching it wakes the thread, and the writer copies nothing.
  constexpr int copy_at_frames = 1024;
  static_assert(copy_at_frames > 2 * wal_checkpointer::writer_copies_below);
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  const std::filesystem::path wal = file.string() + "-wal";
  copied_writer w(file, copy_at_frames);
  const std::int64_t version_before = w.data_version();
  int rows = 0;
  for (; wal_frames(wal) < copy_at_frames; ++rows) w.insert_page();
  // The writer writes no more: only the thread can bring the rows into the file.
  const std::uintmax_t copied_size = std::uintmax_t(rows) * blob_bytes;
  CHECK(it::wait_until([&] { return std::filesystem::file_size(file) >= copied_size; },
                       std::chrono::seconds(20)));
  // Its copies are no other writer's commits (check_sole_writer).
  CHECK(w.data_version() == version_before);
}

TEST_CASE("the writer copies a short rest of a long WAL itself, and the WAL starts again",
          "[sqlite_store][wal]") {
  // Below writer_copies_below: the writer copies at each commit past the threshold.
  constexpr int copy_at_frames = 64;
  constexpr int inserts = 2000;
  test::temp_dir dir;
  const auto file = dir.path() / "x.db";
  const std::filesystem::path wal = file.string() + "-wal";
  {
    copied_writer w(file, copy_at_frames);
    const std::int64_t version_before = w.data_version();
    for (int i = 0; i < inserts; ++i) w.insert_page();
    // Copied while the writer was open: the file holds most of the rows already (all but what
    // came after the last copy, at most twice the threshold in pages)...
    CHECK(std::filesystem::file_size(file) >=
          std::uintmax_t{inserts - 2 * copy_at_frames - 64} * blob_bytes);
    // ...and the WAL started again each time it was all copied, so it never grew to the ~8 MB
    // of every insert: it stays within about twice the threshold (pages of 4 KiB and a header).
    CHECK(std::filesystem::file_size(wal) < std::uintmax_t{4 * copy_at_frames} * frame_bytes);
    CHECK(count_of(file) ==
          std::to_string(inserts) + " rows, " + std::to_string(inserts * blob_bytes) + " bytes");
    // Copies and restarts of the WAL are no other writer's commits.
    CHECK(w.data_version() == version_before);
  }
  // Closed (the copier first, then the writer, which copies the rest): everything is in the file.
  CHECK(count_of(file) ==
        std::to_string(inserts) + " rows, " + std::to_string(inserts * blob_bytes) + " bytes");
}

}  // namespace streamgate
