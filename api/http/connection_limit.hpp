#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace streamgate {

class connection_limit;

// Where a connection comes from, as the per-address cap counts it: an IPv4 address (also when
// written as an IPv4-mapped IPv6 one), or the /64 prefix of an IPv6 address, since one IPv6 host
// usually holds a whole /64 and could otherwise open its connections from as many addresses.
using client_address = std::array<unsigned char, 16>;
client_address client_address_of(const boost::asio::ip::address& peer);

// One open connection's claim on the limits: HTTP keep-alive and WebSocket alike. Move-only; the
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
  connection_slot(connection_limit* owner, std::optional<client_address> address)
      : owner_(owner), address_(address) {}
  void release();

  connection_limit* owner_ = nullptr;
  std::optional<client_address> address_;  // counted per address too
};

// The api's caps on open connections (docs/design.md §6): --max-connections in all, and
// --max-connections-per-address from one client address. Every connection holds a file
// descriptor, a strand, buffers and, as a WebSocket, a place in the fan-out: without a cap, a
// flood of idle connections takes all of them and the api stops answering anyone; without the
// per-address cap, one client can be that flood. It lives in api_services, which outlives every
// session.
class connection_limit final {
 public:
  // `max_per_address` 0: no cap per address.
  explicit connection_limit(std::size_t max, std::size_t max_per_address = 0)
      : max_(max), max_per_address_(max_per_address) {}
  connection_limit(const connection_limit&) = delete;
  connection_limit& operator=(const connection_limit&) = delete;

  enum class refusal { none, total, per_address };
  struct admission {
    std::optional<connection_slot> slot;  // none when refused
    refusal why = refusal::none;
  };

  // A slot for a connection from `peer`, or why none: `max` connections are open, or
  // `max_per_address` from the peer's address.
  admission try_acquire(const boost::asio::ip::address& peer);
  // A slot counted in the total only.
  std::optional<connection_slot> try_acquire();

  std::size_t open() const { return open_.load(std::memory_order_relaxed); }
  std::size_t max() const { return max_; }
  std::size_t max_per_address() const { return max_per_address_; }
  // Connections open from `peer`'s address (counted only with a per-address cap).
  std::size_t open_from(const boost::asio::ip::address& peer) const;
  // Addresses with an entry: those with connections open, so the map stays as small as they are.
  std::size_t tracked_addresses() const;

 private:
  friend class connection_slot;
  struct address_hash {
    std::size_t operator()(const client_address& a) const noexcept;
  };

  bool try_count(const client_address& address);
  void uncount(const client_address& address);

  const std::size_t max_;
  const std::size_t max_per_address_;
  std::atomic<std::size_t> open_{0};
  // Claimed by the listener's strand, released on every io thread: a mutex, held for one
  // lookup. Only addresses with connections open have an entry.
  mutable std::mutex address_mutex_;
  std::unordered_map<client_address, std::size_t, address_hash> per_address_;
};

}  // namespace streamgate
