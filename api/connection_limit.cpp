#include "api/connection_limit.hpp"

#include <utility>

namespace streamgate {

connection_slot::connection_slot(connection_slot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)) {}

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

connection_slot::~connection_slot() { release(); }

void connection_slot::release() {
  if (owner_ != nullptr) owner_->open_.fetch_sub(1, std::memory_order_relaxed);
  owner_ = nullptr;
}

std::optional<connection_slot> connection_limit::try_acquire() {
  // Slots are released on every io thread; a compare-and-swap keeps the count exact, so the cap
  // holds whoever claims.
  std::size_t current = open_.load(std::memory_order_relaxed);
  do {
    if (current >= max_) return std::nullopt;
  } while (!open_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return connection_slot(this);
}

}  // namespace streamgate
