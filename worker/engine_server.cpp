#include "worker/engine_server.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <variant>

#include "common/codec.hpp"
#include "worker/heartbeat.hpp"

namespace streamgate {

namespace {

// As worker_server: bounded queues, a short linger, a bounded wait between stop checks.
constexpr int high_water_mark = 100'000;
constexpr int linger_ms = 200;
constexpr std::chrono::milliseconds max_poll_wait{100};
// After the store failed: long enough not to spin on a Redis that is down, short enough that
// the apis' resends find it back soon.
constexpr std::chrono::milliseconds store_retry_wait{200};

zmq::socket_t make_socket(zmq::context_t& context, zmq::socket_type type,
                          const std::string& endpoint) {
  zmq::socket_t socket(context, type);
  socket.set(zmq::sockopt::sndhwm, high_water_mark);
  socket.set(zmq::sockopt::rcvhwm, high_water_mark);
  socket.set(zmq::sockopt::linger, linger_ms);
  try {
    socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error("cannot bind '" + endpoint + "': " + e.what());
  }
  return socket;
}

}  // namespace

engine_server::engine_server(zmq::context_t& context, const worker_endpoint& bind, int max_batch,
                             decision_engine& engine)
    : engine_(engine),
      max_batch_(static_cast<std::size_t>(std::max(max_batch, 1))),
      requests_(make_socket(context, zmq::socket_type::router, bind.requests)),
      events_(make_socket(context, zmq::socket_type::pub, bind.events)) {}

void engine_server::run(const std::atomic<bool>& stop_requested) {
  std::array<zmq::pollitem_t, 1> items{{{requests_.handle(), 0, ZMQ_POLLIN, 0}}};
  std::chrono::milliseconds wait = std::chrono::milliseconds::zero();
  while (!stop_requested.load()) {
    zmq::poll(items.data(), items.size(), std::min(wait, max_poll_wait));
    for (std::size_t taken = 0; taken < max_batch_ && take_one(); ++taken) {
    }
    // Also when no request came: the engine expires due leases.
    answer_batch();
    wait = engine_.idle_wait();
  }
  requests_.close();
  events_.close();
}

bool engine_server::take_one() {
  zmq::message_t identity;
  if (!requests_.recv(identity, zmq::recv_flags::dontwait)) return false;
  std::size_t frames = 1;
  zmq::message_t payload;
  for (bool more = identity.more(); more; ++frames) {
    zmq::message_t part;
    static_cast<void>(requests_.recv(part));
    more = part.more();
    if (frames == 1) payload = std::move(part);
  }
  if (frames != 2) {
    drop("expected 2 frames [identity][request], got " + std::to_string(frames));
    return true;
  }
  auto decoded = decode_request(payload.to_string_view());
  if (!decoded) {
    drop(decoded.error().message);
    return true;
  }
  // The api's metric scrapes are answered at once and stay out of the batch sizes.
  if (std::holds_alternative<stats_request>(decoded->body)) {
    send(identity, decoded->corr, {outcome::ok, batch_stats_.to_json(engine_.active_streams())});
    return true;
  }
  if (std::holds_alternative<ping_request>(decoded->body)) publish_heartbeat(events_);
  waiting_.push_back({std::move(identity), decoded->corr});
  bodies_.push_back(std::move(decoded->body));
  return true;
}

void engine_server::drop(std::string_view reason) {
  dropped_.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("dropped a malformed request: {}", reason);
}

void engine_server::answer_batch() {
  const auto work = static_cast<std::size_t>(std::count_if(
      bodies_.begin(), bodies_.end(),
      [](const request_body& b) { return !std::holds_alternative<ping_request>(b); }));
  try {
    engine_.decide_batch(bodies_, replies_, to_publish_);
  } catch (const store_unavailable& e) {
    // Answered at once rather than left to the api's timeout: the client hears 503 and retries
    // (a start with its requestId, which then finds whatever its script decided). Nothing of
    // the batch's decisions is told, since none of it is known to be durable.
    spdlog::error("store unavailable, {} requests answered unavailable: {}", waiting_.size(),
                  e.what());
    const reply unavailable{outcome::unavailable,
                            encode_error(error_code::unavailable, "the store is unreachable")};
    for (waiting& w : waiting_) send(w.identity, w.corr, unavailable);
    waiting_.clear();
    bodies_.clear();
    replies_.clear();
    to_publish_.clear();
    std::this_thread::sleep_for(store_retry_wait);
    return;
  }
  if (work > 0) batch_stats_.observe(work);
  // Events before replies: a client that has its answer and then opens a WebSocket finds the
  // event already at the api, so its snapshot comes first and reflects it.
  constexpr auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  for (const published_event& e : to_publish_) {
    static_cast<void>(events_.send(zmq::buffer(e.topic), more));
    static_cast<void>(events_.send(zmq::buffer(e.body), more));
    static_cast<void>(events_.send(zmq::buffer(e.sequence), zmq::send_flags::dontwait));
  }
  for (std::size_t i = 0; i < waiting_.size() && i < replies_.size(); ++i)
    send(waiting_[i].identity, waiting_[i].corr, replies_[i]);
  waiting_.clear();
  bodies_.clear();
  replies_.clear();
  to_publish_.clear();
}

void engine_server::send(zmq::message_t& identity, std::uint64_t corr, const reply& answer) {
  // dontwait: a ROUTER drops what it cannot route (a gone api) instead of blocking the worker.
  constexpr auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  const std::string corr_text = std::to_string(corr);
  static_cast<void>(requests_.send(identity, more));
  static_cast<void>(requests_.send(zmq::buffer(corr_text), more));
  static_cast<void>(requests_.send(zmq::buffer(to_string(answer.status)), more));
  static_cast<void>(requests_.send(zmq::buffer(answer.body), zmq::send_flags::dontwait));
}

}  // namespace streamgate
