#pragma once

#include <atomic>
#include <cstddef>
#include <optional>

namespace streamgate {

class connection_limit;

// One open connection's claim on the limit: HTTP keep-alive and WebSocket alike. Move-only; the
// claim ends when the last owner is destroyed, whichever session the connection has become.
class connection_slot final {
 public:
  connection_slot() = default;
  connection_slot(connection_slot&& other) noexcept;
  connection_slot& operator=(connection_slot&& other) noexcept;
  connection_slot(const connection_slot&) = delete;
  connection_slot& operator=(const connection_slot&) = delete;
  ~connection_slot();

 private:
  friend class connection_limit;
  explicit connection_slot(connection_limit* owner) : owner_(owner) {}
  void release();

  connection_limit* owner_ = nullptr;
};

// The api's cap on open connections (--max-connections). Every connection holds a file
// descriptor, a strand, buffers and, as a WebSocket, a place in the fan-out: without a cap, a
// flood of idle connections takes all of them and the api stops answering anyone. It lives in
// api_services, which outlives every session.
class connection_limit final {
 public:
  explicit connection_limit(std::size_t max) : max_(max) {}
  connection_limit(const connection_limit&) = delete;
  connection_limit& operator=(const connection_limit&) = delete;

  // A slot, or none when `max` connections are open.
  std::optional<connection_slot> try_acquire();

  std::size_t open() const { return open_.load(std::memory_order_relaxed); }
  std::size_t max() const { return max_; }

 private:
  friend class connection_slot;

  const std::size_t max_;
  std::atomic<std::size_t> open_{0};
};

}  // namespace streamgate
