#include "api/worker_link/zmq_readable.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include "api/worker_link/zmq_sockets.hpp"

namespace streamgate {

zmq_readable::zmq_readable(zmq::socket_t& socket, std::function<bool()> drain)
    : socket_(socket), drain_(std::move(drain)) {}

zmq_readable::~zmq_readable() {
  // Released, not closed: the descriptor belongs to the socket.
  if (descriptor_) static_cast<void>(descriptor_->release());
}

void zmq_readable::open(const asio::any_io_executor& strand) {
  strand_ = strand;
  descriptor_.emplace(strand, socket_.get(zmq::sockopt::fd));
  // What came before the descriptor was watched raised no edge this watcher heard.
  drain();
}

void zmq_readable::check() {
  if (closed_) return;
  wait();
  if (has_input()) drain_soon();
}

bool zmq_readable::has_input() {
  return (again_if_interrupted([this] { return socket_.get(zmq::sockopt::events); }) &
          ZMQ_POLLIN) != 0;
}

void zmq_readable::wait() {
  if (waiting_) return;
  waiting_ = true;
  descriptor_->async_wait(asio::posix::stream_descriptor::wait_read,
                          asio::bind_executor(strand_, [this](const boost::system::error_code& ec) {
                            waiting_ = false;
                            if (!ec) drain();
                          }));
}

void zmq_readable::drain_soon() {
  if (std::exchange(queued_, true)) return;
  asio::post(strand_, [this] {
    queued_ = false;
    drain();
  });
}

void zmq_readable::drain() {
  if (closed_) return;
  wait();
  // Stopped at its batch, or more came: read after what is queued on the strand.
  if (drain_() || has_input()) drain_soon();
}

void zmq_readable::close(bool destroy) {
  closed_ = true;
  if (!descriptor_) return;
  static_cast<void>(descriptor_->release());  // cancels the wait: its handler sees closed_
  if (!destroy) return;
  descriptor_.reset();
  strand_ = {};  // a strand's last copy needs its io_context
}

}  // namespace streamgate
