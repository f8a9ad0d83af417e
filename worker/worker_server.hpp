#pragma once

// The worker's ZeroMQ loop (wire format in common/messages.hpp): a ROUTER takes requests, a PUB
// sends events. Requests are decided in batches: drain what is waiting, decide each in order,
// expire due leases, commit all the batch's changes in ONE transaction, and only then reply and
// publish. So nobody ever hears of a decision that a crash could still lose, and the fsync of a
// commit is shared by a whole batch.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "common/clock.hpp"
#include "common/config.hpp"
#include "worker/batch_stats.hpp"
#include "worker/request_handler.hpp"
#include "worker/sqlite_store.hpp"
#include "worker/stream_limiter.hpp"

namespace streamgate {

class worker_server final {
 public:
  // Binds both sockets at once, so peers may connect as soon as this returns. The context is the
  // caller's because inproc:// endpoints (tests) only reach sockets of the same context.
  worker_server(zmq::context_t& context, const worker_endpoint& bind, int max_batch,
                stream_limiter& limiter, sqlite_store& store);

  // Serves until stop_requested is set (checked between batches, at least every 100 ms), then
  // closes the sockets. If a commit fails it logs, sends nothing of that batch and rethrows: the
  // limiter then holds decisions that are not durable, so the process must exit and a restart
  // reloads the truth from the store.
  void run(const std::atomic<bool>& stop_requested);

  // Messages dropped as malformed (wrong frame count, bad JSON, unknown op) since the start.
  // Safe to read from any thread.
  std::uint64_t dropped_messages() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct pending_reply {
    zmq::message_t identity;
    std::uint64_t corr;
    reply answer;
    // list_events reads the store, so it is answered after the batch's commit: it then sees
    // every decision taken before it.
    std::optional<list_events_request> after_commit;
  };

  std::chrono::milliseconds poll_timeout(steady_time at) const;
  // Receives and decides one waiting message; false when none is waiting.
  bool take_one(instant at);
  void drop(std::string_view reason);
  void commit_batch(instant at);
  void answer_after_commit(instant at);
  void send_replies();
  void publish_events();

  stream_limiter& limiter_;
  sqlite_store& store_;
  request_handler handler_;
  std::size_t max_batch_;
  zmq::socket_t requests_;
  zmq::socket_t events_;
  std::vector<pending_reply> replies_;
  std::vector<event> events_to_publish_;  // of the committed batch  // of the batch in progress;
                                          // kept for its capacity
  std::atomic<std::uint64_t> dropped_{0};
  // Requests of the batch in progress other than ping and stats, then the histogram of them.
  std::size_t batch_requests_ = 0;
  batch_stats batch_stats_;
};

}  // namespace streamgate
