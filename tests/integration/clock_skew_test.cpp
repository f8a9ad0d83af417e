// An api whose wall clock is apart from its worker's (hosts out of sync): the api measures how far
// over its pings, and the worker reads each request's deadline in its own clock with the offset
// the pings carry (api/worker_link/clock_offset.hpp, worker/server/api_clocks.hpp,
// docs/design.md §5). Without it, a worker ahead by more than --verdict-timeout-ms refused every
// request as late, and one behind decided requests its api had given up on. A shifted clock
// needs one side played by the test (wire format: common/messages.hpp): an api on a raw DEALER
// in front of a real worker, or a worker on a raw ROUTER behind a real api.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "free_port.hpp"
#include "helpers.hpp"
#include "json.hpp"
#include "process.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

class skewed_api {
 public:
  // An api whose clock reads `ahead_ms` more than the worker's (less when negative).
  skewed_api(unsigned short requests_port, std::int64_t ahead_ms)
      : dealer_(context_, zmq::socket_type::dealer), ahead_ms_(ahead_ms) {
    dealer_.set(zmq::sockopt::linger, 0);
    dealer_.set(zmq::sockopt::rcvtimeo, 10'000);
    dealer_.connect("tcp://127.0.0.1:" + std::to_string(requests_port));
  }

  std::int64_t now() const { return wall_ms_now() + ahead_ms_; }

  // Tells the worker how far apart the clocks are, as the api's pings do once measured.
  std::string ping(std::int64_t offset_ms) {
    return call(R"("op":"ping","clockOffset":)" + std::to_string(offset_ms));
  }

  std::string start(const std::string& user, const std::string& session, std::int64_t deadline) {
    return call(R"("op":"start","requestId":")" + user + "-" + session + R"(","userId":")" + user +
                R"(","videoId":"v01","sessionId":")" + session + R"(","deadline":)" +
                std::to_string(deadline));
  }

 private:
  // The outcome of request `corr` (common/messages.hpp, to_string(outcome)).
  std::string outcome_of(std::uint64_t corr) {
    for (;;) {
      std::vector<zmq::message_t> frames;
      REQUIRE(zmq::recv_multipart(dealer_, std::back_inserter(frames)).has_value());
      REQUIRE(frames.size() % 4 == 0);
      for (std::size_t f = 0; f < frames.size(); f += 4)
        if (frames[f].to_string() == std::to_string(corr)) return frames[f + 1].to_string();
    }
  }

  std::uint64_t send(const std::string& fields) {
    const std::uint64_t corr = next_corr_++;
    const std::string body = R"({"corr":)" + std::to_string(corr) + "," + fields + "}";
    dealer_.send(zmq::buffer(body), zmq::send_flags::none);
    return corr;
  }
  std::string call(const std::string& fields) { return outcome_of(send(fields)); }

  zmq::context_t context_;
  zmq::socket_t dealer_;
  std::int64_t ahead_ms_;
  std::uint64_t next_corr_ = 1;
};

// A ping's answer body: the worker codec's version 2, clock_reading's tag 16, then the reading as
// a zigzag varint, the worker's life as a string and its count of events as a varint
// (common/wire/worker_codec.cpp), here empty and 0.
std::string clock_reading_frame(std::int64_t wall_ms) {
  std::string frame{'\x02', '\x10'};
  auto zigzag =
      (static_cast<std::uint64_t>(wall_ms) << 1) ^ static_cast<std::uint64_t>(wall_ms >> 63);
  for (; zigzag >= 0x80; zigzag >>= 7) frame.push_back(static_cast<char>((zigzag & 0x7f) | 0x80));
  frame.push_back(static_cast<char>(zigzag));
  frame.push_back('\0');
  frame.push_back('\0');
  return frame;
}

}  // namespace

TEST_CASE("an api measures how far its worker's clock is and tells the worker in its pings",
          "[integration][clock]") {
  // The worker, played here: its clock 5 s ahead of the api's.
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.set(zmq::sockopt::rcvtimeo, 10'000);
  const unsigned short requests_port = free_port();
  router.bind("tcp://127.0.0.1:" + std::to_string(requests_port));
  const auto dir = make_temp_dir();
  process api(
      api_program(),
      {"--listen", "127.0.0.1:" + std::to_string(free_port()), "--web-root", STREAMGATE_WEB_ROOT,
       "--requests", "tcp://127.0.0.1:" + std::to_string(requests_port), "--events",
       "tcp://127.0.0.1:" + std::to_string(free_port())},
      dir, dir / "api.log");

  // Each ping answered with the shifted clock; the api's first carry no offset, a later one
  // carries what it measured (within half a round trip on loopback).
  std::vector<std::int64_t> offsets;
  const bool measured = wait_until(
      [&] {
        std::vector<zmq::message_t> frames;
        REQUIRE(zmq::recv_multipart(router, std::back_inserter(frames)).has_value());
        for (std::size_t f = 1; f < frames.size(); ++f) {
          const auto request = json::parse(frames[f].to_string());
          if (json::str(request, "op") != "ping") continue;
          offsets.push_back(
              json::has_int(request, "clockOffset") ? json::integer(request, "clockOffset") : 0);
          const std::string corr = std::to_string(json::integer(request, "corr"));
          const std::string body = clock_reading_frame(wall_ms_now() + 5'000);
          router.send(frames[0], zmq::send_flags::sndmore);
          router.send(zmq::buffer(corr), zmq::send_flags::sndmore);
          router.send(zmq::str_buffer("ok"), zmq::send_flags::sndmore);
          router.send(zmq::buffer(body), zmq::send_flags::sndmore);
          router.send(zmq::message_t(), zmq::send_flags::none);
        }
        return !offsets.empty() && offsets.back() >= 4'950 && offsets.back() <= 5'050;
      },
      std::chrono::seconds(20));
  INFO(::Catch::Detail::stringify(offsets));
  CHECK(measured);
  CHECK(offsets.front() == 0);
}

TEST_CASE("a worker whose clock is ahead of its api's decides that api's requests in time",
          "[integration][clock]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  skewed_api api(s.requests_port(), -5'000);
  // Not measured yet: taken to share the worker's clock, so a deadline 2 s ahead in the api's
  // clock is 3 s past in the worker's, and the start is refused as late.
  CHECK(api.start(user, "unmeasured", api.now() + 2'000) == "unavailable");
  CHECK(api.ping(5'000) == "ok");
  CHECK(api.start(user, "measured", api.now() + 2'000) == "allowed");
  // Late by the api's own clock: still refused.
  CHECK(api.start(user, "late", api.now() - 1) == "unavailable");
  CHECK(stream_ids(http, user).size() == 1);
}

TEST_CASE("a worker whose clock is behind its api's refuses what that api gave up on",
          "[integration][clock]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  skewed_api api(s.requests_port(), 5'000);
  CHECK(api.ping(-5'000) == "ok");
  // Given up on by the api a moment ago (as if the worker had hung): in the worker's clock,
  // without the offset, it would still have 5 s to go.
  CHECK(api.start(user, "given-up", api.now() - 1) == "unavailable");
  CHECK(stream_ids(http, user).empty());
  CHECK(api.start(user, "in-time", api.now() + 2'000) == "allowed");
}
