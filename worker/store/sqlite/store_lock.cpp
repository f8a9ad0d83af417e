#include "worker/store/sqlite/store_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

namespace streamgate {

store_lock::store_lock(const std::filesystem::path& store_path) {
  const std::string lock_path = store_path.string() + ".lock";
  fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw std::system_error(errno, std::generic_category(),
                            "cannot open the lock file '" + lock_path + "'");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int failure = errno;
    const std::string holder = holder_pid();
    ::close(fd_);
    if (failure == EWOULDBLOCK)
      throw store_in_use("the store '" + store_path.string() +
                         "' is in use by another worker (pid " + holder + ", lock '" + lock_path +
                         "')");
    throw std::system_error(failure, std::generic_category(), "cannot lock '" + lock_path + "'");
  }
  // Written under the lock, so the pid in the file is always the holder's (or absent for the
  // instant between the lock and this write: a refused opener then says "unknown").
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) != 0 ||
      ::pwrite(fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    const int failure = errno;
    ::close(fd_);
    throw std::system_error(failure, std::generic_category(),
                            "cannot write the pid into '" + lock_path + "'");
  }
  store_fd_ = ::open(store_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (store_fd_ < 0 || ::flock(store_fd_, LOCK_EX | LOCK_NB) != 0) {
    const int failure = errno;
    if (store_fd_ >= 0) ::close(store_fd_);
    ::close(fd_);
    if (failure == EWOULDBLOCK)
      throw store_in_use("the store file '" + store_path.string() +
                         "' is in use by another worker through another name (a hard or "
                         "symbolic link to it)");
    throw std::system_error(failure, std::generic_category(),
                            "cannot lock the store file '" + store_path.string() + "'");
  }
}

store_lock::~store_lock() {
  ::close(store_fd_);
  ::close(fd_);
}

std::string store_lock::holder_pid() const {
  char buffer[32];
  const ssize_t n = ::pread(fd_, buffer, sizeof buffer, 0);
  std::string pid(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
  const bool digits = !pid.empty() && std::all_of(pid.begin(), pid.end(),
                                                  [](char c) { return c >= '0' && c <= '9'; });
  return digits ? pid : "unknown";
}

}  // namespace streamgate
