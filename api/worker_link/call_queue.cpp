#include "api/worker_link/call_queue.hpp"

#include <utility>

namespace streamgate {

call_queue::call_queue(std::size_t capacity) : capacity_(capacity) {}

call_queue::pushed call_queue::push(worker_call&& call) {
  const std::lock_guard lock(mutex_);
  if (closed_ || calls_.size() >= capacity_) return pushed::refused;
  const bool was_empty = calls_.empty();
  calls_.push_back(std::move(call));
  // One wake-up per batch: the bridge takes the whole queue, so later pushes need none.
  return was_empty ? pushed::first : pushed::behind;
}

void call_queue::take(std::vector<worker_call>& out) {
  // A push after this finds the queue empty and wakes the bridge again.
  const std::lock_guard lock(mutex_);
  out.swap(calls_);
}

std::vector<worker_call> call_queue::close() {
  const std::lock_guard lock(mutex_);
  closed_ = true;
  return std::exchange(calls_, {});
}

}  // namespace streamgate
