#include "worker/store/sqlite/wal_checkpointer.hpp"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <utility>

#include "common/thread_name.hpp"

namespace streamgate {

namespace {

void copy(sqlite3* db, int* logged, int* copied) {
  // Busy (the other connection is copying) is no failure: a later commit asks again.
  const int rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, logged, copied);
  if (rc != SQLITE_OK && rc != SQLITE_BUSY)
    spdlog::warn("the store's WAL could not be copied into its file: {}", sqlite3_errstr(rc));
}

}  // namespace

wal_checkpointer::wal_checkpointer(const std::filesystem::path& path, const sqlite_db& writer,
                                   int copy_at_frames)
    : db_(path.string()), writer_(writer.handle()), copy_at_frames_(copy_at_frames) {
  // A connection opens the WAL only when it first reads the file; until then SQLite takes it for
  // one not in WAL mode, and its checkpoints return at once having copied nothing.
  db_.exec("SELECT count(*) FROM sqlite_schema");
  // Replaces SQLite's own checkpoint at commit (wal_autocheckpoint is such a hook).
  sqlite3_wal_hook(writer_, &wal_checkpointer::on_commit, this);
  thread_ = std::thread([this] { run(); });
  name_thread(thread_, "sg-wal-copy");
}

wal_checkpointer::~wal_checkpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

int wal_checkpointer::on_commit(void* self, sqlite3* writer, const char*, int frames) {
  static_cast<wal_checkpointer*>(self)->wal_grew(writer, frames);
  return SQLITE_OK;
}

void wal_checkpointer::wal_grew(sqlite3* writer, int frames) {
  if (frames < copy_at_frames_) return;
  int left = frames;
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    // A copy of a WAL longer than this one was of the WAL before it started again.
    if (logged_ <= frames) left -= copied_;
    if (left > writer_copies_below) wake = !std::exchange(copy_wanted_, true);
  }
  if (wake) wake_.notify_one();
  if (left <= writer_copies_below || frames >= 2 * copy_at_frames_) copy(writer, nullptr, nullptr);
}

void wal_checkpointer::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return copy_wanted_ || stopping_; });
    if (stopping_) return;
    lock.unlock();
    int logged = 0;
    int copied = 0;
    copy(db_.handle(), &logged, &copied);
    lock.lock();
    copy_wanted_ = false;
    logged_ = logged;
    copied_ = copied;
  }
}

}  // namespace streamgate
