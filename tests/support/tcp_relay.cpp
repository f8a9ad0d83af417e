#include "tcp_relay.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstddef>
#include <future>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

namespace streamgate::it {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t chunk = 16 * 1024;
// Asked of the socket toward the server before it connects, so the window it offers stays small:
// what a paused relay leaves unread then waits in the server's socket, not in the relay's.
constexpr int server_side_receive_buffer = 16 * 1024;

// One relayed connection. Everything runs on the relay's one thread.
class link final : public std::enable_shared_from_this<link> {
 public:
  link(tcp::socket client, tcp::socket server, const bool& paused)
      : client_(std::move(client)), server_(std::move(server)), paused_(paused) {}

  void start() {
    pump_up();
    pump_down();
  }
  // Forwards what a pause held, if it held anything, and so reads from the server again.
  void resume() {
    if (std::exchange(parked_, false)) forward_down(std::exchange(held_, 0));
  }
  bool holds_bytes() const { return held_ > 0; }
  void close() {
    boost::system::error_code ignored;
    client_.close(ignored);
    server_.close(ignored);
  }

 private:
  void pump_up() {
    client_.async_read_some(asio::buffer(up_), [self = shared_from_this()](auto ec, std::size_t n) {
      if (ec) return self->close();
      asio::async_write(self->server_, asio::buffer(self->up_, n), [self](auto ec2, std::size_t) {
        if (ec2) return self->close();
        self->pump_up();
      });
    });
  }
  // Reads even while paused: what it reads then is held, so a test can wait until the server
  // sent something the client did not get. A link parks only once it holds bytes.
  void pump_down() {
    server_.async_read_some(asio::buffer(down_),
                            [self = shared_from_this()](auto ec, std::size_t n) {
                              if (ec) return self->close();
                              self->forward_down(n);
                            });
  }
  // A read under way when the pause came holds its bytes too: a reply that arrives just then
  // must not slip through. A write under way then goes on: its bytes were read before.
  void forward_down(std::size_t n) {
    if (paused_) {
      parked_ = true;
      held_ = n;
      return;
    }
    asio::async_write(client_, asio::buffer(down_, n),
                      [self = shared_from_this()](auto ec, std::size_t) {
                        if (ec) return self->close();
                        self->pump_down();
                      });
  }

  tcp::socket client_;
  tcp::socket server_;
  const bool& paused_;
  bool parked_ = false;
  std::size_t held_ = 0;  // bytes of down_ read while paused, not forwarded yet
  std::array<char, chunk> up_{};
  std::array<char, chunk> down_{};
};

}  // namespace

struct tcp_relay::state {
  explicit state(unsigned short upstream_port) : upstream(upstream_port) {}

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket client) {
      if (ec) return;  // closed: the relay is going away
      tcp::socket server(io);
      server.open(tcp::v4());
      server.set_option(asio::socket_base::receive_buffer_size(server_side_receive_buffer));
      server.connect({asio::ip::address_v4::loopback(), upstream}, ec);
      if (!ec) {
        auto l = std::make_shared<link>(std::move(client), std::move(server), paused);
        l->start();
        links.push_back(l);
      }
      accept();
    });
  }
  // Runs `f` on the relay's thread and waits for it.
  template <class F>
  void on_thread(F f) {
    std::promise<void> done;
    asio::post(io, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  asio::io_context io;
  tcp::acceptor acceptor{io, {asio::ip::address_v4::loopback(), 0}};
  const unsigned short upstream;
  bool paused = false;
  std::vector<std::weak_ptr<link>> links;
  std::thread thread;
};

tcp_relay::tcp_relay(unsigned short upstream_port)
    : state_(std::make_unique<state>(upstream_port)) {
  state_->accept();
  state_->thread = std::thread([s = state_.get()] { s->io.run(); });
}

tcp_relay::~tcp_relay() {
  // Closing everything ends every pending operation, so the thread's run() returns.
  asio::post(state_->io, [s = state_.get()] {
    boost::system::error_code ignored;
    s->acceptor.close(ignored);
    for (const auto& weak : s->links)
      if (const auto l = weak.lock()) l->close();
  });
  state_->thread.join();
}

unsigned short tcp_relay::port() const { return state_->acceptor.local_endpoint().port(); }

void tcp_relay::pause() {
  state_->on_thread([s = state_.get()] { s->paused = true; });
}

void tcp_relay::resume() {
  state_->on_thread([s = state_.get()] {
    s->paused = false;
    for (const auto& weak : s->links)
      if (const auto l = weak.lock()) l->resume();
  });
}

bool tcp_relay::holds_bytes() {
  bool holds = false;
  state_->on_thread([&, s = state_.get()] {
    for (const auto& weak : s->links)
      if (const auto l = weak.lock()) holds = holds || l->holds_bytes();
  });
  return holds;
}

}  // namespace streamgate::it
