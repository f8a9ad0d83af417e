#pragma once

// The ZeroMQ loop (wire format in common/messages.hpp) for a decision_engine: a ROUTER takes
// requests, a PUB sends events. Drain what is waiting, let the engine decide the batch and make
// it durable, then reply and publish: nobody hears of a decision before it is durable.
// worker_server is the same loop fused with the embedded engine (limiter + SQLite); the Redis
// engine runs here.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "common/config.hpp"
#include "worker/batch_stats.hpp"
#include "worker/decision_engine.hpp"

namespace streamgate {

class engine_server final {
 public:
  // Binds both sockets at once, so peers may connect as soon as this returns.
  engine_server(zmq::context_t& context, const worker_endpoint& bind, int max_batch,
                decision_engine& engine);

  // Serves until stop_requested is set (checked between batches, at least every 100 ms). A
  // batch whose store was unreachable is answered `unavailable` (503); the loop goes on and the
  // engine reconnects.
  void run(const std::atomic<bool>& stop_requested);

  std::uint64_t dropped_messages() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct waiting {
    zmq::message_t identity;
    std::uint64_t corr;
  };
  bool take_one();
  void drop(std::string_view reason);
  void answer_batch();
  void send(zmq::message_t& identity, std::uint64_t corr, const reply& answer);

  decision_engine& engine_;
  std::size_t max_batch_;
  zmq::socket_t requests_;
  zmq::socket_t events_;
  std::vector<waiting> waiting_;
  std::vector<request_body> bodies_;
  std::vector<reply> replies_;
  std::vector<published_event> to_publish_;
  batch_stats batch_stats_;
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace streamgate
