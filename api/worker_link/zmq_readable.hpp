#pragma once

// Runs a handler on the worker link's strand when a ZeroMQ socket has messages to read, from the
// Asio event loop rather than a thread of its own (docs/design.md §1).
//
// ZMQ_FD is not a socket's data: it is the signal of its command mailbox, edge-triggered, and
// reading ZMQ_EVENTS (which every send and receive may do too) clears it. So readiness is
// checked on ZMQ_EVENTS, never on the descriptor: after every drain, after every send on the
// socket (check()), and once more after each wait is armed, since a message that arrived between
// the last check and the wait raised an edge that no wait heard.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <optional>
#include <zmq.hpp>

#include "api/http/http_types.hpp"

namespace streamgate {

class zmq_readable final {
 public:
  // `on_readable` reads what it may (a bounded batch) and returns; the watcher re-checks.
  zmq_readable(zmq::socket_t& socket, std::function<void()> on_readable);
  ~zmq_readable();
  zmq_readable(const zmq_readable&) = delete;
  zmq_readable& operator=(const zmq_readable&) = delete;

  // On the strand, once: watches the socket's descriptor with the strand's io_context.
  void open(const asio::any_io_executor& strand);
  // On the strand: after a send on the socket, or to start watching.
  void check();
  // On the strand, or with the io_context stopped: no handler runs after this. The descriptor is
  // released (it is ZeroMQ's) and, with `destroy`, its Asio object too, which must happen while
  // the io_context exists.
  void close(bool destroy);

 private:
  void wait();
  void run_soon();
  void run();

  zmq::socket_t& socket_;
  std::function<void()> on_readable_;
  asio::any_io_executor strand_;
  std::optional<asio::posix::stream_descriptor> descriptor_;
  bool waiting_ = false;  // an async_wait is armed
  bool queued_ = false;   // a run is posted
  bool closed_ = false;
};

}  // namespace streamgate
