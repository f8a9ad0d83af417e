// The relay that the [link] cases and the Redis replica's tests hold up (tcp_relay.hpp): a case
// that waits for it to hold what the worker sent must never wait in vain. It did once in CI, on a
// loaded machine: the pause came while the relay was writing to the api, and the relay then read
// nothing more, so what the worker sent next stayed in the worker's socket. Asks no store.

#include "tcp_relay.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cstddef>
#include <vector>

#include "wait.hpp"

using namespace streamgate::it;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// The byte at `offset` of the server's stream, so the client can tell a byte lost or reordered.
char byte_at(std::size_t offset) { return static_cast<char>(offset % 251); }

}  // namespace

TEST_CASE(
    "a relay paused while it writes holds what the server sends next and gives it all on resume",
    "[integration][link]") {
  asio::io_context io;
  tcp::acceptor listener(io, {asio::ip::address_v4::loopback(), 0});
  tcp_relay relay(listener.local_endpoint().port());
  tcp::socket client(io);
  client.open(tcp::v4());
  client.set_option(asio::socket_base::receive_buffer_size(4096));
  client.connect({asio::ip::address_v4::loopback(), relay.port()});
  tcp::socket server = listener.accept();
  server.non_blocking(true);
  client.non_blocking(true);

  // The server sends until its socket takes no more. The client reads nothing, so the relay is
  // left writing toward it, and reads nothing from the server meanwhile.
  std::size_t sent = 0;
  std::vector<char> chunk(16 * 1024);
  boost::system::error_code ec;
  while (!ec) {
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = byte_at(sent + i);
    sent += server.write_some(asio::buffer(chunk), ec);
  }
  REQUIRE(ec == asio::error::would_block);

  std::size_t received = 0;
  bool in_order = true;
  const auto read_what_came = [&] {
    std::vector<char> in(16 * 1024);
    boost::system::error_code read_ec;
    while (!read_ec) {
      const std::size_t n = client.read_some(asio::buffer(in), read_ec);
      for (std::size_t i = 0; i < n; ++i) in_order = in_order && in[i] == byte_at(received + i);
      received += n;
    }
    return read_ec == asio::error::would_block;
  };

  // Paused now, the relay finishes its write, reads once more and holds what it read.
  relay.pause();
  REQUIRE(wait_until([&] { return read_what_came() && relay.holds_bytes(); }, 10s));
  CHECK(received < sent);

  relay.resume();
  REQUIRE(wait_until([&] { return read_what_came() && received == sent; }, 10s));
  CHECK(in_order);
}
