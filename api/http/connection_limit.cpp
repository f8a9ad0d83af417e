#include "api/http/connection_limit.hpp"

#include <string_view>
#include <utility>

namespace streamgate {

client_address client_address_of(const boost::asio::ip::address& peer) {
  if (peer.is_v4()) return boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped,
                                                            peer.to_v4()).to_bytes();
  client_address bytes = peer.to_v6().to_bytes();
  if (peer.to_v6().is_v4_mapped()) return bytes;
  // The /64: the interface identifier is the host's to choose.
  for (std::size_t i = 8; i < bytes.size(); ++i) bytes[i] = 0;
  return bytes;
}

connection_slot::connection_slot(connection_slot&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), address_(std::exchange(other.address_, {})) {}

connection_slot& connection_slot::operator=(connection_slot&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    address_ = std::exchange(other.address_, {});
  }
  return *this;
}

connection_slot::~connection_slot() { release(); }

void connection_slot::release() {
  if (owner_ != nullptr) {
    if (address_) owner_->uncount(*address_);
    owner_->open_.fetch_sub(1, std::memory_order_relaxed);
  }
  owner_ = nullptr;
  address_.reset();
}

std::optional<connection_slot> connection_limit::try_acquire() {
  // Slots are released on every io thread; a compare-and-swap keeps the count exact, so the cap
  // holds whoever claims.
  std::size_t current = open_.load(std::memory_order_relaxed);
  do {
    if (current >= max_) return std::nullopt;
  } while (!open_.compare_exchange_weak(current, current + 1, std::memory_order_relaxed));
  return connection_slot(this, std::nullopt);
}

connection_limit::admission connection_limit::try_acquire(const boost::asio::ip::address& peer) {
  std::optional<connection_slot> slot = try_acquire();
  if (!slot) return {std::nullopt, refusal::total};
  if (max_per_address_ == 0) return {std::move(slot), refusal::none};
  const client_address address = client_address_of(peer);
  // Given back through the slot's destructor if the address is at its cap.
  if (!try_count(address)) return {std::nullopt, refusal::per_address};
  slot->address_ = address;
  return {std::move(slot), refusal::none};
}

std::size_t connection_limit::open_from(const boost::asio::ip::address& peer) const {
  const std::lock_guard lock(address_mutex_);
  const auto it = per_address_.find(client_address_of(peer));
  return it == per_address_.end() ? 0 : it->second;
}

std::size_t connection_limit::tracked_addresses() const {
  const std::lock_guard lock(address_mutex_);
  return per_address_.size();
}

bool connection_limit::try_count(const client_address& address) {
  const std::lock_guard lock(address_mutex_);
  std::size_t& count = per_address_[address];
  if (count >= max_per_address_) return false;
  ++count;
  return true;
}

void connection_limit::uncount(const client_address& address) {
  const std::lock_guard lock(address_mutex_);
  const auto it = per_address_.find(address);
  if (it == per_address_.end()) return;
  if (--it->second == 0) per_address_.erase(it);
}

std::size_t connection_limit::address_hash::operator()(const client_address& a) const noexcept {
  return std::hash<std::string_view>{}(
      std::string_view(reinterpret_cast<const char*>(a.data()), a.size()));
}

}  // namespace streamgate
