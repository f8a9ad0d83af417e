// Which life of a worker an api hears (docs/design.md §9): a worker's events count as heard only
// while they come from the life that answers the api's pings. A killed worker's last messages can
// reach an api after its successor answers, and hearing them is not hearing the successor; a new
// life heard before it answered a ping is heard. The worker is played by the test (a raw ROUTER
// and PUB behind a real api; wire format: common/messages.hpp, common/wire/worker_codec.cpp), so
// which life publishes and which answers are the test's to choose.

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdint>
#include <iterator>
#include <optional>
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

void put_varint(std::string& out, std::uint64_t value) {
  for (; value >= 0x80; value >>= 7) out.push_back(static_cast<char>((value & 0x7f) | 0x80));
  out.push_back(static_cast<char>(value));
}

void put_string(std::string& out, const std::string& s) {
  put_varint(out, s.size());
  out += s;
}

// Version 2, clock_reading's tag 16: the wall clock as a zigzag varint, the life, then the
// messages of events published in it.
std::string clock_reading_body(std::int64_t wall_ms, const std::string& life,
                               std::uint64_t published) {
  std::string body{'\x02', '\x10'};
  put_varint(
      body, (static_cast<std::uint64_t>(wall_ms) << 1) ^ static_cast<std::uint64_t>(wall_ms >> 63));
  put_string(body, life);
  put_varint(body, published);
  return body;
}

// Version 2, error's tag 2: error_code::unavailable (10), then the message.
std::string unavailable_body() {
  std::string body{'\x02', '\x02'};
  put_varint(body, 10);
  put_string(body, "the store is unreachable");
  return body;
}

class played_worker final {
 public:
  played_worker() {
    router_.set(zmq::sockopt::linger, 0);
    router_.set(zmq::sockopt::rcvtimeo, 1'000);
    pub_.set(zmq::sockopt::linger, 0);
    router_.bind(endpoint(requests_port_));
    pub_.bind(endpoint(events_port_));
  }
  static std::string endpoint(unsigned short port) {
    return "tcp://127.0.0.1:" + std::to_string(port);
  }
  unsigned short requests_port() const { return requests_port_; }
  unsigned short events_port() const { return events_port_; }

  // A heartbeat of `life` (the dataset, its position, the lives the store names: itself), telling
  // `published` messages of events published in it.
  void publish_heartbeat(const std::string& life, std::uint64_t published) {
    const std::string position = life + " " + std::to_string(published);
    pub_.send(zmq::message_t(), zmq::send_flags::sndmore);
    pub_.send(zmq::str_buffer("d_played"), zmq::send_flags::sndmore);
    pub_.send(zmq::buffer(position), zmq::send_flags::sndmore);
    pub_.send(zmq::buffer(life), zmq::send_flags::none);
  }

  // Takes the api's next ping, as a worker does: publishes a heartbeat of `heard_life` (none: the
  // api's link holds it up), then answers the ping naming `answering_life`, or, with none, as a
  // worker whose store is down does; `published` messages of events so far in either.
  void take_ping(const std::optional<std::string>& heard_life,
                 const std::optional<std::string>& answering_life, std::uint64_t published = 0) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(router_, std::back_inserter(frames))) return;
    for (std::size_t f = 1; f < frames.size(); ++f) {
      const auto request = json::parse(frames[f].to_string());
      if (json::str(request, "op") != "ping") continue;
      if (heard_life) publish_heartbeat(*heard_life, published);
      const std::string corr = std::to_string(json::integer(request, "corr"));
      const std::string body = answering_life
                                   ? clock_reading_body(wall_ms_now(), *answering_life, published)
                                   : unavailable_body();
      router_.send(frames[0], zmq::send_flags::sndmore);
      router_.send(zmq::buffer(corr), zmq::send_flags::sndmore);
      router_.send(answering_life ? zmq::str_buffer("ok") : zmq::str_buffer("unavailable"),
                   zmq::send_flags::sndmore);
      router_.send(zmq::buffer(body), zmq::send_flags::sndmore);
      router_.send(zmq::message_t(), zmq::send_flags::none);
    }
  }

 private:
  zmq::context_t context_;
  zmq::socket_t router_{context_, zmq::socket_type::router};
  zmq::socket_t pub_{context_, zmq::socket_type::pub};
  unsigned short requests_port_ = free_port();
  unsigned short events_port_ = free_port();
};

// Until the api's /health answers `status`, the played worker taking its pings meanwhile as
// take_ping does.
bool health_becomes(played_worker& worker, unsigned short port, int status,
                    const std::optional<std::string>& heard_life,
                    const std::optional<std::string>& answering_life, std::uint64_t published = 0) {
  return wait_until(
      [&] {
        worker.take_ping(heard_life, answering_life, published);
        return health_status(port) == status;
      },
      20s);
}

}  // namespace

TEST_CASE("an api hears a worker only from the life that answers its pings",
          "[integration][link]") {
  played_worker worker;
  const auto dir = make_temp_dir();
  const unsigned short port = free_port();
  process api(api_program(),
              {"--listen", "127.0.0.1:" + std::to_string(port), "--web-root", STREAMGATE_WEB_ROOT,
               "--requests", played_worker::endpoint(worker.requests_port()), "--events",
               played_worker::endpoint(worker.events_port())},
              dir, dir / "api.log");
  REQUIRE(health_becomes(worker, port, 200, "l_one", "l_one"));

  SECTION("the last messages of a life that no longer answers are not hearing the worker") {
    CHECK(health_becomes(worker, port, 503, "l_one", "l_two"));
    // Once the life that answers is heard, the api serves again.
    CHECK(health_becomes(worker, port, 200, "l_two", "l_two"));
  }

  SECTION("a new life heard before it answers a ping is heard") {
    // Its pings answered while its store is down: it answers, naming no life.
    REQUIRE(wait_until(
        [&] {
          worker.take_ping("l_two", std::nullopt);
          return file_text(dir / "api.log").find("a worker was restarted") != std::string::npos;
        },
        20s));
    // The api's liveness is judged after every ping's answer: through the next three, it is up.
    for (int ping = 0; ping < 3; ++ping) {
      worker.take_ping("l_two", std::nullopt);
      CHECK(health_status(port) == 200);
    }
  }

  // A black-box probe froze an api while another stopped streams: once resumed, it served them
  // for a moment on the first message it read, the ends still waiting behind it.
  SECTION("after a silence, the worker is heard once what it published by a later ping is") {
    // Its events held up (a link, or this api frozen) while it answers and publishes 9 messages.
    REQUIRE(health_becomes(worker, port, 503, std::nullopt, "l_one", 9));
    // The first of what waited arrives, 4 messages behind: the api is still catching up.
    worker.publish_heartbeat("l_one", 5);
    for (int ping = 0; ping < 3; ++ping) {
      worker.take_ping(std::nullopt, "l_one", 9);
      CHECK(health_status(port) == 503);
    }
    // The rest arrives.
    CHECK(health_becomes(worker, port, 200, "l_one", "l_one", 9));
  }
}
