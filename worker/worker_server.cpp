#include "worker/worker_server.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include <spdlog/spdlog.h>

#include "common/codec.hpp"
#include "worker/audit_trail.hpp"
#include "worker/heartbeat.hpp"

namespace streamgate {

namespace {

// Generous but bounded queues: a burst of tens of thousands of requests is absorbed, and a peer
// that stops reading costs a bounded amount of memory (ZeroMQ drops beyond it).
constexpr int high_water_mark = 100'000;
// Long enough for the last replies to leave at shutdown, short enough never to hang it.
constexpr int linger_ms = 200;
// The longest wait between two checks of the stop flag.
constexpr std::chrono::milliseconds max_poll_wait{100};

zmq::socket_t make_socket(zmq::context_t& context, zmq::socket_type type,
                          const std::string& endpoint) {
  zmq::socket_t socket(context, type);
  socket.set(zmq::sockopt::sndhwm, high_water_mark);
  socket.set(zmq::sockopt::rcvhwm, high_water_mark);
  socket.set(zmq::sockopt::linger, linger_ms);
  try {
    socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    // ZeroMQ's message alone ("Address already in use") does not say which endpoint.
    throw std::runtime_error("cannot bind '" + endpoint + "': " + e.what());
  }
  return socket;
}

}  // namespace

worker_server::worker_server(zmq::context_t& context, const worker_endpoint& bind, int max_batch,
                             stream_limiter& limiter, sqlite_store& store)
    : limiter_(limiter),
      store_(store),
      max_batch_(static_cast<std::size_t>(std::max(max_batch, 1))),
      requests_(make_socket(context, zmq::socket_type::router, bind.requests)),
      events_(make_socket(context, zmq::socket_type::pub, bind.events)) {}

void worker_server::run(const std::atomic<bool>& stop_requested) {
  std::array<zmq::pollitem_t, 1> items{{{requests_.handle(), 0, ZMQ_POLLIN, 0}}};
  while (!stop_requested.load()) {
    zmq::poll(items.data(), items.size(), poll_timeout(std::chrono::steady_clock::now()));
    // One instant for the whole batch: its decisions are made together and committed together.
    const instant at = now();
    for (std::size_t taken = 0; taken < max_batch_ && take_one(at); ++taken) {
    }
    batch_stats_.observe(batch_requests_);
    batch_requests_ = 0;
    // Also when no request came: a lease that ran out ends, is stored and is published.
    limiter_.expire_due(at);
    commit_batch(at);
    answer_after_commit(at);
    send_replies();
    publish_events();
  }
  requests_.close();
  events_.close();
}

std::chrono::milliseconds worker_server::poll_timeout(steady_time at) const {
  const auto deadline = limiter_.next_deadline();
  if (!deadline) return max_poll_wait;
  if (*deadline <= at) return std::chrono::milliseconds::zero();
  // Rounded up: waking a fraction of a millisecond early would find nothing due and spin.
  return std::min(max_poll_wait, std::chrono::ceil<std::chrono::milliseconds>(*deadline - at));
}

bool worker_server::take_one(instant at) {
  zmq::message_t identity;
  if (!requests_.recv(identity, zmq::recv_flags::dontwait)) return false;
  // All parts of a message arrive together, so reading the rest never waits. Every part is read
  // even when there are too many, so the next message starts clean.
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
  // The api's liveness pings and metric scrapes are not work: they stay out of the batch sizes.
  if (std::holds_alternative<stats_request>(decoded->body)) {
    replies_.push_back({std::move(identity),
                        decoded->corr,
                        {outcome::ok, batch_stats_.to_json(limiter_.active_total())},
                        std::nullopt});
    return true;
  }
  if (std::holds_alternative<ping_request>(decoded->body))
    publish_heartbeat(events_);
  else
    ++batch_requests_;
  if (auto* list = std::get_if<list_events_request>(&decoded->body)) {
    replies_.push_back({std::move(identity), decoded->corr, {}, std::move(*list)});
    return true;
  }
  replies_.push_back({std::move(identity), decoded->corr,
                      handler_.handle(decoded->body, limiter_, at, &store_), std::nullopt});
  return true;
}

void worker_server::drop(std::string_view reason) {
  dropped_.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("dropped a malformed request: {}", reason);
}

void worker_server::commit_batch(instant at) {
  const std::vector<change> changes = limiter_.take_changes();
  events_to_publish_ = limiter_.take_events();
  try {
    store_.commit(changes, audit_entries_of(changes, events_to_publish_, at.wall_ms));
  } catch (const std::exception& e) {
    spdlog::critical("store commit failed, withholding {} replies and {} events: {}",
                     replies_.size(), events_to_publish_.size(), e.what());
    throw;
  }
}

void worker_server::answer_after_commit(instant at) {
  for (pending_reply& r : replies_) {
    if (!r.after_commit) continue;
    const request_body body = std::move(*r.after_commit);
    r.answer = handler_.handle(body, limiter_, at, &store_);
    r.after_commit.reset();
  }
}

void worker_server::send_replies() {
  // dontwait: a ROUTER drops what it cannot route (a gone api) instead of blocking the worker.
  constexpr auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  for (pending_reply& r : replies_) {
    const std::string corr = std::to_string(r.corr);
    static_cast<void>(requests_.send(r.identity, more));
    static_cast<void>(requests_.send(zmq::buffer(corr), more));
    static_cast<void>(requests_.send(zmq::buffer(to_string(r.answer.status)), more));
    static_cast<void>(requests_.send(zmq::buffer(r.answer.body), zmq::send_flags::dontwait));
  }
  replies_.clear();
}

void worker_server::publish_events() {
  const auto publish = [this](const std::string& topic, const std::string& body,
                              std::uint64_t seq) {
    constexpr auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
    const std::string sequence = limiter_.epoch() + ' ' + std::to_string(seq);
    static_cast<void>(events_.send(zmq::buffer(topic), more));
    static_cast<void>(events_.send(zmq::buffer(body), more));
    static_cast<void>(events_.send(zmq::buffer(sequence), zmq::send_flags::dontwait));
  };
  for (const event& e : events_to_publish_) {
    if (const auto* v = std::get_if<shared_verdict>(&e.what)) {
      publish((*v)->user_id, encode_verdict_event(**v, e.seq), e.seq);
    } else {
      const auto& ended = std::get<ended_event>(e.what);
      publish(ended.user_id, encode_ended_event(ended, e.seq), e.seq);
    }
  }
  events_to_publish_.clear();
}

}  // namespace streamgate
