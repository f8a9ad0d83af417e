#pragma once

// The worker's ZAP handler (ZeroMQ RFC 27) for CURVE on its sockets (docs/design.md §6). libzmq
// asks whoever is bound at inproc://zeromq.zap.01 in the socket's context about every CURVE
// handshake; this one lets in only clients whose public key is in the allowed set. A client
// refused here, or one that does not know the worker's public key (its handshake cannot even be
// decrypted), never gets a message through and never receives one.

#include <array>
#include <chrono>
#include <cstdint>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

namespace streamgate {

class zap_handler final {
 public:
  // Binds the ZAP endpoint at once, so it is there before any CURVE socket of the context binds
  // (no handshake is ever decided without it), then answers on its own thread until destroyed.
  // `allowed_clients`: Z85 public keys (common/link_keys.hpp checked them).
  zap_handler(zmq::context_t& context, const std::vector<std::string>& allowed_clients);
  zap_handler(const zap_handler&) = delete;
  zap_handler& operator=(const zap_handler&) = delete;

 private:
  using public_key = std::array<std::uint8_t, 32>;
  void run(const std::stop_token& stop);
  void answer_one();

  std::set<public_key> allowed_;
  zmq::socket_t socket_;  // REP; the handler thread's only, once it started
  std::uint64_t refused_unlogged_ = 0;  // handler thread only
  std::chrono::steady_clock::time_point next_log_{};
  std::jthread thread_;  // last: stopped and joined first, before the socket closes
};

}  // namespace streamgate
