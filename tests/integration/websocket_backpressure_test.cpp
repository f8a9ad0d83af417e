// A WebSocket's fate depends on its own reading only (docs/design.md §4, "Slow readers";
// hardening issue 15, item 11: during a burst, sockets of the same user that never read got the
// one that reads closed as "4096 messages unread"). The api caps what a socket leaves unread, so
// a client that stops reading is closed; a client that reads gets every event, in order, however
// many of its user's other sockets have stopped.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A WebSocket that upgrades and then never reads: its receive buffer is made small, so what the
// api writes to it stops fitting in the kernel almost at once and piles up in the api.
class unread_websocket final {
 public:
  unread_websocket(unsigned short port, const std::string& target) : socket_(ioc_) {
    socket_.open(tcp::v4());
    socket_.set_option(asio::socket_base::receive_buffer_size(4096));
    socket_.connect({asio::ip::make_address("127.0.0.1"), port});
    const std::string upgrade = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                                std::to_string(port) +
                                "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n";
    asio::write(socket_, asio::buffer(upgrade));
    asio::streambuf head;
    asio::read_until(socket_, head, "\r\n\r\n");
    const std::string text(asio::buffers_begin(head.data()), asio::buffers_end(head.data()));
    accepted_ = text.starts_with("HTTP/1.1 101");
  }

  bool accepted() const { return accepted_; }

 private:
  asio::io_context ioc_;
  tcp::socket socket_;
  bool accepted_ = false;
};

// The api's open WebSockets, from GET /metrics; -1 when the gauge is missing.
double open_websockets(unsigned short port) {
  http_client http(port);
  const auto r = http.get("/metrics");
  std::istringstream lines(r.body);
  const std::string series = "streamgate_websocket_connections ";
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with(series)) return std::strtod(line.c_str() + series.size(), nullptr);
  return -1;
}

// Lines of a log file that contain `text`.
int lines_containing(const std::filesystem::path& log, std::string_view text) {
  std::ifstream in(log);
  int count = 0;
  for (std::string line; std::getline(in, line);)
    if (line.find(text) != std::string::npos) ++count;
  return count;
}

std::uint64_t sequence_number(const json::value& message) {
  REQUIRE(message.HasMember("seq"));
  REQUIRE(message["seq"].IsUint64());
  return message["seq"].GetUint64();
}

}  // namespace

TEST_CASE("a WebSocket that reads gets every event of a burst while 20 of its user's sockets that "
          "never read are closed",
          "[integration][websocket][backpressure]") {
  // Two apis: the sockets under test on the first, the burst sent through the second, so the
  // first api's io thread does only what a burst of published events makes it do. No start rate,
  // so every start of the burst reaches the worker and comes back as an event.
  stack s(stack_options{}.apis(2).api_args({"--start-rate", "0"}));
  http_client http(s.http_port());
  // A limit of 1: the first start is allowed, every other one denied, each an event of about the
  // same small size.
  const auto user = create_user(http, 1);
  const std::string target = ws_client::target_for(user);

  ws_client reader(s.http_port(0), target);
  const std::uint64_t first_seq = sequence_number(read_snapshot(reader, user)) + 1;

  constexpr int non_readers = 20;
  std::vector<std::unique_ptr<unread_websocket>> stalled;
  for (int i = 0; i < non_readers; ++i) {
    stalled.push_back(std::make_unique<unread_websocket>(s.http_port(0), target));
    REQUIRE(stalled.back()->accepted());
  }

  ws_client driver(s.http_port(1), target);
  read_snapshot(driver, user);
  // Sent in rounds, each once the reader has read the one before: the reader then never has more
  // than a round unread, however slowly a busy machine lets it read, while the sockets that never
  // read are left the whole burst, far past the cap.
  constexpr int burst = 20000;
  constexpr int round = 1000;
  int got = 0;
  std::string wrong;
  for (int sent = 0; sent < burst && wrong.empty(); sent += round) {
    for (int i = sent; i < sent + round; ++i)
      driver.send_json(R"({"type":"start","videoId":"v01","requestId":"burst-)" +
                       std::to_string(i) + R"("})");
    // Every event of the round, in the order the worker numbered them, none lost, no socket
    // closed.
    while (got < sent + round && wrong.empty()) {
      auto message = reader.try_read_json(30s);
      if (!message) {
        wrong = reader.closed_by_server() ? "the api closed the reading socket"
                                          : "no event within 30 s";
        break;
      }
      if (json::str(*message, "type") != "verdict") {
        wrong = "not a verdict: " + json::dump(*message);
        break;
      }
      const std::string expected = "burst-" + std::to_string(got);
      if (json::str(*message, "requestId") != expected ||
          sequence_number(*message) != first_seq + static_cast<std::uint64_t>(got)) {
        wrong = "expected " + expected + " at seq " + std::to_string(first_seq + got) + ", got " +
                json::dump(*message);
        break;
      }
      ++got;
    }
  }
  INFO("events received in order: " << got << " of " << burst << "; " << wrong);
  CHECK(got == burst);
  CHECK_FALSE(reader.closed_by_server());

  // The sockets that never read were closed, each for what it left unread, and only they: the
  // api counts the reader alone. (Asked of the api: a socket it closed with bytes still queued
  // in the kernel is not seen to close by a client that does not read.)
  double open = -1;
  CHECK(wait_until([&] { return (open = open_websockets(s.http_port(0))) == 1; }, 20s));
  INFO("open WebSockets on the api: " << open);
  CHECK(lines_containing(s.dir() / "api0.log", "unread") == non_readers);
  // Each at the cap on messages: the burst's events are small, so the cap on bytes is far off.
  CHECK(lines_containing(s.dir() / "api0.log", ": 4096 messages (") == non_readers);
}
