#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "api/worker_link/worker_call.hpp"

namespace streamgate {

// Hands calls from io threads to the bridge's strand. ZeroMQ sockets are not thread-safe, so io
// threads never touch them: they queue here, and the first call of a batch wakes the strand,
// which takes the whole batch at once.
class call_queue final {
 public:
  explicit call_queue(std::size_t capacity);
  call_queue(const call_queue&) = delete;
  call_queue& operator=(const call_queue&) = delete;

  enum class pushed { refused, first, behind };
  // `refused` when full or closed, and `call` is then left as it was; `first` when the queue
  // was empty, so the caller wakes the bridge; `behind` when a wake-up is already on its way.
  pushed push(worker_call&& call);

  // Bridge: moves everything queued into `out`.
  void take(std::vector<worker_call>& out);

  // Bridge, on exit: refuses later pushes and returns what was still queued.
  std::vector<worker_call> close();

 private:
  std::mutex mutex_;
  std::vector<worker_call> calls_;
  bool closed_ = false;
  const std::size_t capacity_;
};

}  // namespace streamgate
