#include "api/worker_link/zmq_readable.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <utility>

namespace streamgate {

zmq_readable::zmq_readable(zmq::socket_t& socket, std::function<void()> on_readable)
    : socket_(socket), on_readable_(std::move(on_readable)) {}

zmq_readable::~zmq_readable() {
  // Released, not closed: the descriptor belongs to the socket.
  if (descriptor_) static_cast<void>(descriptor_->release());
}

void zmq_readable::open(const asio::any_io_executor& strand) {
  strand_ = strand;
  descriptor_.emplace(strand, socket_.get(zmq::sockopt::fd));
  check();
}

void zmq_readable::check() {
  if (closed_) return;
  wait();
  if ((socket_.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0) run_soon();
}

void zmq_readable::wait() {
  if (waiting_) return;
  waiting_ = true;
  descriptor_->async_wait(asio::posix::stream_descriptor::wait_read,
                          asio::bind_executor(strand_, [this](const boost::system::error_code& ec) {
                            waiting_ = false;
                            if (!ec) run();
                          }));
}

void zmq_readable::run_soon() {
  // Posted rather than run here: check() is called from the middle of the link's work.
  if (std::exchange(queued_, true)) return;
  asio::post(strand_, [this] {
    queued_ = false;
    run();
  });
}

void zmq_readable::run() {
  if (closed_) return;
  on_readable_();
  check();
}

void zmq_readable::close(bool destroy) {
  closed_ = true;
  if (!descriptor_) return;
  static_cast<void>(descriptor_->release());  // cancels the wait: its handler sees closed_
  if (destroy) descriptor_.reset();
}

}  // namespace streamgate
