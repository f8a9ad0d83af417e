#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <iterator>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/codec.hpp"
#include "common/ids.hpp"
#include "tests/unit/temp_dir.hpp"
#include "worker/sqlite_store.hpp"
#include "worker/stream_limiter.hpp"
#include "worker/worker_server.hpp"

namespace streamgate {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

// How long a test waits for a condition before it fails; a passing test waits far less.
constexpr std::chrono::milliseconds patience = 5s;

// Runs the server on a thread of its own and stops it at scope exit, even after a failed REQUIRE.
class server_thread final {
 public:
  explicit server_thread(worker_server& server) : thread_([this, &server] { server.run(stop_); }) {}
  ~server_thread() {
    stop_ = true;
    thread_.join();
  }
  server_thread(const server_thread&) = delete;
  server_thread& operator=(const server_thread&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

zmq::socket_t connect(zmq::context_t& context, zmq::socket_type type, const std::string& endpoint) {
  zmq::socket_t socket(context, type);
  socket.set(zmq::sockopt::linger, 0);
  socket.connect(endpoint);
  return socket;
}

// The frames of the next message, or nothing when none came within `patience`.
std::optional<std::vector<std::string>> receive(zmq::socket_t& socket) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, patience) == 0) return std::nullopt;
  std::vector<zmq::message_t> frames;
  static_cast<void>(zmq::recv_multipart(socket, std::back_inserter(frames)));
  std::vector<std::string> texts;
  for (const zmq::message_t& frame : frames) texts.push_back(frame.to_string());
  return texts;
}

void send_request(zmq::socket_t& dealer, const request& r) {
  static_cast<void>(dealer.send(zmq::buffer(encode_request(r)), zmq::send_flags::none));
}

// A server on fresh inproc endpoints with a store in a temp dir, alice and one video, and a
// DEALER (an api's request socket) and a SUB on alice's topic connected to it.
struct server_fixture {
  explicit server_fixture(limiter_options options = {}) : limiter(options) {
    limiter.load_user({"alice", "Alice Martin", std::nullopt, std::nullopt});
    limiter.load_video({"v01", "Northbound", 7320});
    subscriber.set(zmq::sockopt::subscribe, "alice");
  }

  test::temp_dir dir;
  std::filesystem::path store_file = dir.path() / "sg.db";
  sqlite_store store = sqlite_store::open(store_file);
  stream_limiter limiter;
  zmq::context_t context;
  worker_endpoint endpoints{"inproc://requests-" + new_id(""), "inproc://events-" + new_id("")};
  worker_server server{context, endpoints, 64, limiter, store};
  zmq::socket_t dealer = connect(context, zmq::socket_type::dealer, endpoints.requests);
  zmq::socket_t subscriber = connect(context, zmq::socket_type::sub, endpoints.events);
};

}  // namespace

TEST_CASE("a start is answered allowed after it is stored, and published on the user's topic",
          "[worker][zmq]") {
  server_fixture f;
  const server_thread running(f.server);

  send_request(f.dealer, {7, start_request{"r_1", "alice", "v01", "phone"}});

  const auto answer = receive(f.dealer);
  REQUIRE(answer);
  REQUIRE(answer->size() == 3);
  CHECK((*answer)[0] == "7");
  CHECK((*answer)[1] == "allowed");
  CHECK_THAT((*answer)[2], Contains(R"("verdict":"allowed")"));

  const auto published = receive(f.subscriber);
  REQUIRE(published);
  REQUIRE(published->size() == 3);
  CHECK((*published)[0] == "alice");
  CHECK_THAT((*published)[1], Contains(R"("type":"verdict")"));
  CHECK_THAT((*published)[1], Contains(R"("requestId":"r_1")"));
  CHECK_THAT((*published)[1], Contains(R"("seq":1)"));
  CHECK((*published)[2] == f.limiter.epoch() + " 1");

  // The reply came after the commit, so another connection already reads the decision.
  const stored_state stored = sqlite_store::open(f.store_file).load();
  REQUIRE(stored.streams.size() == 1);
  CHECK(stored.streams[0].user_id == "alice");
  REQUIRE(stored.verdicts.size() == 1);
  CHECK(stored.verdicts[0].request_id == "r_1");
}

TEST_CASE("malformed messages are dropped and counted, and the next request is answered",
          "[worker][zmq]") {
  server_fixture f;
  const server_thread running(f.server);

  // Three frames at the ROUTER instead of [identity][request].
  static_cast<void>(f.dealer.send(zmq::str_buffer("{}"), zmq::send_flags::sndmore));
  static_cast<void>(f.dealer.send(zmq::str_buffer("{}"), zmq::send_flags::none));
  static_cast<void>(f.dealer.send(zmq::str_buffer("not json"), zmq::send_flags::none));
  static_cast<void>(f.dealer.send(zmq::str_buffer(R"({"op":"dance","corr":1})"),
                                  zmq::send_flags::none));
  send_request(f.dealer, {9, ping_request{}});

  // Nothing answers a dropped message, so the first reply is the ping's.
  const auto answer = receive(f.dealer);
  REQUIRE(answer);
  REQUIRE(answer->size() == 3);
  CHECK((*answer)[0] == "9");
  CHECK((*answer)[1] == "ok");
  CHECK((*answer)[2] == "{}");
  CHECK(f.server.dropped_messages() == 3);
}

TEST_CASE("a lease that runs out is ended, stored and published without any request",
          "[worker][zmq]") {
  limiter_options short_leases;
  short_leases.lease = 50ms;
  server_fixture f(short_leases);
  const server_thread running(f.server);

  send_request(f.dealer, {1, start_request{"r_1", "alice", "v01", "phone"}});
  const auto answer = receive(f.dealer);
  REQUIRE(answer);
  REQUIRE((*answer)[1] == "allowed");
  const auto decided = receive(f.subscriber);
  REQUIRE(decided);
  CHECK_THAT((*decided)[1], Contains(R"("type":"verdict")"));

  const auto ended = receive(f.subscriber);
  REQUIRE(ended);
  REQUIRE(ended->size() == 3);
  CHECK((*ended)[0] == "alice");
  CHECK_THAT((*ended)[1], Contains(R"("type":"ended")"));
  CHECK((*ended)[2] == f.limiter.epoch() + " 2");
  CHECK_THAT((*ended)[1], Contains(R"("reason":"expired")"));
  CHECK(sqlite_store::open(f.store_file).load().streams.empty());
}

}  // namespace streamgate
