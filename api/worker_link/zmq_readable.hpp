#pragma once

// Runs a handler on the worker link's strand when a ZeroMQ socket may have messages to read, from
// the Asio event loop rather than a thread of its own (docs/design.md §1).
//
// ZMQ_FD is not a socket's data: it is the signal of the socket's command mailbox,
// edge-triggered, and whatever processes the socket's commands (a receive, a send, a read of
// ZMQ_EVENTS) may clear it without a drain. So, as libzmq's documentation of ZMQ_FD asks, the
// socket's ZMQ_EVENTS is read after every drain and after every send on the socket (check()),
// with the wait armed first: what ZMQ_EVENTS misses raises an edge the armed wait hears. (A
// version that trusted the edges alone lost replies under ThreadSanitizer's timing.)

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <optional>
#include <zmq.hpp>

#include "api/http/http_types.hpp"

namespace streamgate {

class zmq_readable final {
 public:
  // `drain` reads what the socket has, up to a batch, and returns true when it stopped at the
  // batch (more may wait: the watcher drains again after what is queued on the strand).
  zmq_readable(zmq::socket_t& socket, std::function<bool()> drain);
  ~zmq_readable();
  zmq_readable(const zmq_readable&) = delete;
  zmq_readable& operator=(const zmq_readable&) = delete;

  // On the strand, once: watches the socket's descriptor with the strand's io_context.
  void open(const asio::any_io_executor& strand);
  // On the strand, after a send on the socket.
  void check();
  // On the strand, or with the io_context stopped: no drain runs after this. The descriptor is
  // released (it is ZeroMQ's) and, with `destroy`, its Asio objects too, which must happen while
  // the io_context exists.
  void close(bool destroy);

 private:
  void wait();
  bool has_input();
  void drain_soon();
  void drain();

  zmq::socket_t& socket_;
  std::function<bool()> drain_;
  asio::any_io_executor strand_;
  std::optional<asio::posix::stream_descriptor> descriptor_;
  bool waiting_ = false;  // an async_wait is armed
  bool queued_ = false;   // a drain is posted
  bool closed_ = false;
};

}  // namespace streamgate
