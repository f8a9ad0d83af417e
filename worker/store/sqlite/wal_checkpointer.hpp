#pragma once

// Copies the WAL of the SQLite store's decision log (decision_log.hpp), which the worker's thread
// writes, into its database file on a thread of its own (docs/design.md §8). SQLite's own
// checkpoint runs in the committing thread once the WAL holds 16384 pages: it copies tens of
// megabytes and syncs the file while every decision waits, and under saturation those pauses
// made half of the p99 (bench/HISTORY.md). Here the worker's thread only says how long the
// WAL is after each commit (SQLite's WAL hook), and this thread copies with a connection of its
// own, in PASSIVE mode, which never blocks the writer: it goes on appending.
//
// A WAL starts again from its first page only when a write transaction begins with every page
// copied, which a copy running beside the writer rarely leaves. So once the WAL is long, this
// thread copies again after each commit that finds more than a few pages left, and the writer
// copies those few itself (a short copy and one sync); at twice that length, whatever is left.

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "worker/store/sqlite/handle.hpp"

namespace streamgate {

class wal_checkpointer final {
 public:
  // A WAL this long is copied (SQLite's own default is 1000 pages: a longer WAL copies a page
  // written again and again once, bench/HISTORY.md).
  static constexpr int default_copy_at_frames = 16384;
  // What the writer copies itself so that the WAL starts again.
  static constexpr int writer_copies_below = 256;

  // Opens a connection of its own to the store's file, which `writer` has open in WAL mode (not
  // in exclusive locking mode: configure_connection), and takes over `writer`'s WAL hook.
  wal_checkpointer(const std::filesystem::path& path, const sqlite_db& writer,
                   int copy_at_frames = default_copy_at_frames);
  // Stops the thread; the writer's connection, closed last, copies what is left.
  ~wal_checkpointer();
  wal_checkpointer(const wal_checkpointer&) = delete;
  wal_checkpointer& operator=(const wal_checkpointer&) = delete;

 private:
  static int on_commit(void* self, sqlite3* writer, const char* schema, int frames);
  // On the writer's thread, after each commit left `frames` pages in the WAL.
  void wal_grew(sqlite3* writer, int frames);
  void run();

  sqlite_db db_;
  sqlite3* writer_;
  const int copy_at_frames_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool copy_wanted_ = false;
  bool stopping_ = false;
  // The WAL's length at this thread's last copy and how much of it that copy left copied
  // (SQLite's pnLog and pnCkpt), counted from the WAL's first page.
  int logged_ = 0;
  int copied_ = 0;
  std::thread thread_;
};

}  // namespace streamgate
