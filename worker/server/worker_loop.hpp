#pragma once

// The worker's one ZeroMQ loop, whatever the store (wire format in common/messages.hpp): a ROUTER
// takes requests, a PUB sends events. Drain what is waiting (a batch), let the decider decide it
// and commit it, then publish the events and only then reply (docs/design.md, "Path of a start":
// commit -> publish -> reply, so a client that has its answer and opens a WebSocket finds the
// event already relayed and its snapshot reflects it). Nobody hears of a decision before its
// commit. A store that cannot be reached gets the batch a 503 and is retried on the next batch;
// the worker never exits on a transient store error.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "common/config.hpp"
#include "common/ids.hpp"
#include "common/messages.hpp"
#include "worker/server/api_clocks.hpp"
#include "worker/server/batch_stats.hpp"
#include "worker/server/decider.hpp"
#include "worker/server/outgoing.hpp"

namespace streamgate {

class worker_loop final {
 public:
  // Binds both sockets at once, so peers may connect as soon as this returns. The context is the
  // caller's because inproc:// endpoints (tests) only reach sockets of the same context, and its
  // ZAP handler (worker/server/zap_handler.hpp) too. `curve_secret_key` (Z85): both sockets are
  // CURVE servers and that handler decides who may connect; empty: plain (docs/design.md §6).
  // `settings`: settings_text() of the worker's flags, as claimed
  // (worker/server/dataset_settings.hpp).
  worker_loop(zmq::context_t& context, const worker_endpoint& bind, int max_batch, decider& d,
              store& s, std::chrono::milliseconds audit_retention,
              const std::string& curve_secret_key, std::string settings);

  // Serves until stop_requested is set (checked between batches, at least every 100 ms), then
  // closes the sockets. Throws store_lost when the store must not be served any more (its
  // dataset lost, or its settings no longer this worker's).
  void run(const std::atomic<bool>& stop_requested);

  std::uint64_t dropped_messages() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  // Takes one request: the next of the message in the inbox, else of the next message read.
  bool take_one();
  bool read_message();
  // A request has arrived that the loop has not taken yet.
  bool request_waiting();
  void drop(std::string_view reason);
  void answer_batch(bool expiry_due);
  void prune();
  // Marks this worker's life alive in the store and keeps the lives it names for the heartbeats.
  void mark_life();

  decider& decider_;
  store& store_;
  std::string settings_;
  std::size_t max_batch_;
  std::chrono::milliseconds audit_retention_;
  zmq::socket_t requests_;
  zmq::socket_t events_;
  // The message being taken: [identity] [request]... (common/messages.hpp). What a full batch
  // leaves of it waits here for the next one, so a batch never exceeds --max-batch.
  std::vector<zmq::message_t> inbox_;
  std::size_t inbox_next_ = 0;
  std::vector<reply_address> waiting_;
  std::vector<request_body> bodies_;
  // Parallel to bodies_, in this worker's clock (decider::decide).
  std::vector<std::int64_t> deadlines_;
  api_clocks api_clocks_;
  std::vector<reply> replies_;
  std::vector<published_event> to_publish_;
  // This process's life and the messages of events published in it; numbers them
  // (publish_events) and the heartbeats tell it (common/messages.hpp).
  event_position events_published_{new_id("l"), 0};
  // The worker lives the store named at the last mark, as a heartbeat carries them
  // (encode_worker_lives); this one's alone until then.
  std::string lives_{events_published_.life};
  // Whether the last mark failed: a store down for a while is logged when marks begin to fail
  // and when they work again, not four times a second.
  bool life_mark_failing_ = false;
  batch_stats batch_stats_;
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace streamgate
