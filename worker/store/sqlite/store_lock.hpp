#pragma once

// The exclusive lock on an SQLite store's sidecar file (<store>.lock), held while the store lives:
// one worker per store file (docs/design.md, "Stores").

#include <filesystem>
#include <stdexcept>
#include <string>

namespace streamgate {

// Another worker (or another store object of this process) holds the file: two owners would each
// grant a user the full limit.
class store_in_use final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The sidecar lock (see store_in_use). flock, not SQLite's own POSIX locks: those belong to the
// process, so a second connection of the same process would be let in, and closing it would drop
// the first one's locks. The file is never deleted: removing it while another process is about to
// lock it would let two processes each lock a file of that name. The store file itself is locked
// too: a sidecar is per name, and a hard or symbolic link names the same file otherwise (a
// black-box probe ran two workers on one file that way, each granting every user the limit).
class store_lock final {
 public:
  // Creates the lock file when absent, locks it and writes this process's pid into it, then
  // locks the store file (created empty when absent: SQLite takes that for a new database).
  // Throws store_in_use when another holds either, std::system_error when a file cannot be used.
  explicit store_lock(const std::filesystem::path& store_path);

  // Closing the descriptor releases the lock, also when the process dies without running this.
  ~store_lock();
  store_lock(const store_lock&) = delete;
  store_lock& operator=(const store_lock&) = delete;

 private:
  // The pid the holder wrote into the file, or "unknown".
  std::string holder_pid() const;

  int fd_ = -1;
  int store_fd_ = -1;
};

}  // namespace streamgate
