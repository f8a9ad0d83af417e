#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

#include "api/worker_link/worker_call.hpp"

namespace streamgate {

// Hands calls from io threads to the bridge thread. ZeroMQ sockets are not thread-safe, so io
// threads never touch them: they queue here and the eventfd wakes the bridge's zmq_poll.
class call_queue final {
 public:
  explicit call_queue(std::size_t capacity);
  ~call_queue();
  call_queue(const call_queue&) = delete;
  call_queue& operator=(const call_queue&) = delete;

  // Readable while calls wait; polled by the bridge next to its sockets.
  int wake_fd() const { return wake_fd_; }

  // False when full or closed; `call` is then left as it was.
  bool push(worker_call&& call);

  // Bridge: moves everything queued into `out` and clears the wake-up.
  void take(std::vector<worker_call>& out);

  // Bridge, on exit: refuses later pushes and returns what was still queued.
  std::vector<worker_call> close();

  void wake();

 private:
  std::mutex mutex_;
  std::vector<worker_call> calls_;
  bool closed_ = false;
  const std::size_t capacity_;
  const int wake_fd_;
};

}  // namespace streamgate
