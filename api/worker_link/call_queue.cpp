#include "api/worker_link/call_queue.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>
#include <utility>

namespace streamgate {

namespace {
int open_eventfd() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  return fd;
}
}  // namespace

call_queue::call_queue(std::size_t capacity) : capacity_(capacity), wake_fd_(open_eventfd()) {}

call_queue::~call_queue() { ::close(wake_fd_); }

bool call_queue::push(worker_call&& call) {
  bool was_empty = false;
  {
    const std::lock_guard lock(mutex_);
    if (closed_ || calls_.size() >= capacity_) return false;
    was_empty = calls_.empty();
    calls_.push_back(std::move(call));
  }
  // One wake-up per batch: the bridge takes the whole queue, so later pushes need none.
  if (was_empty) wake();
  return true;
}

void call_queue::take(std::vector<worker_call>& out) {
  // Cleared before taking: a push after the swap finds the queue empty and wakes again.
  std::uint64_t count = 0;
  static_cast<void>(::read(wake_fd_, &count, sizeof count));
  const std::lock_guard lock(mutex_);
  out.swap(calls_);
}

std::vector<worker_call> call_queue::close() {
  const std::lock_guard lock(mutex_);
  closed_ = true;
  return std::exchange(calls_, {});
}

void call_queue::wake() {
  const std::uint64_t one = 1;
  static_cast<void>(::write(wake_fd_, &one, sizeof one));
}

}  // namespace streamgate
