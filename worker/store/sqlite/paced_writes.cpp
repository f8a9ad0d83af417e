#include "worker/store/sqlite/paced_writes.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace streamgate::paced_writes {

namespace {

using pwrite64_function = ssize_t (*)(int, const void*, size_t, off_t);

pwrite64_function sqlite_pwrite64 = nullptr;  // SQLite's own, set once by install()
std::atomic<std::uint64_t> chunks{0};

// Counted per thread: the folding thread is SQLite's one writer in a worker (log_folder.hpp), so
// there is no lock on the way of a write. A descriptor closed and reused only starts its next
// chunk early.
thread_local std::unordered_map<int, std::uint64_t> unwritten;

ssize_t paced_pwrite64(int fd, const void* data, size_t size, off_t offset) {
  const ssize_t written = sqlite_pwrite64(fd, data, size, offset);
  if (written <= 0) return written;
  std::uint64_t& pending = unwritten[fd];
  pending += static_cast<std::uint64_t>(written);
  if (pending < chunk_bytes) return written;
  pending = 0;
  // Start writing the file's dirty pages and wait until they are written. A failure here is
  // left to SQLite's own sync of the transaction, which reports it.
  sync_file_range(fd, 0, 0,
                  SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
  chunks.fetch_add(1, std::memory_order_relaxed);
  return written;
}

bool replace_pwrite64() {
  if (sqlite3_initialize() != SQLITE_OK) return false;
  sqlite3_vfs* vfs = sqlite3_vfs_find(nullptr);
  if (vfs == nullptr || vfs->iVersion < 3 || vfs->xGetSystemCall == nullptr) return false;
  sqlite_pwrite64 = reinterpret_cast<pwrite64_function>(vfs->xGetSystemCall(vfs, "pwrite64"));
  if (sqlite_pwrite64 == nullptr) return false;
  return vfs->xSetSystemCall(vfs, "pwrite64",
                             reinterpret_cast<sqlite3_syscall_ptr>(&paced_pwrite64)) == SQLITE_OK;
}

}  // namespace

bool install() {
  static std::once_flag once;
  static bool installed = false;
  std::call_once(once, [] { installed = replace_pwrite64(); });
  return installed;
}

std::uint64_t chunks_written() { return chunks.load(std::memory_order_relaxed); }

}  // namespace streamgate::paced_writes
