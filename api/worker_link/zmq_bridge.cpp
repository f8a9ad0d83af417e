#include "api/worker_link/zmq_bridge.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <string>
#include <utility>

#include "api/worker_link/json_splice.hpp"
#include "api/metrics/metrics.hpp"
#include "common/clock.hpp"
#include "common/codec.hpp"
#include "common/link_keys.hpp"

namespace streamgate {

namespace {

// Playback tokens run on wall-clock time: every api of a deployment checks them.
std::int64_t wall_ms() { return streamgate::now().wall_ms; }

using namespace std::chrono_literals;

constexpr auto ping_interval = 500ms;
// While no worker answers: a worker that (re)starts is found within this.
constexpr auto ping_interval_down = 100ms;
// Three missed pings: a worker busy with one long batch is not declared dead at once.
constexpr auto liveness_window = 1500ms;
constexpr auto max_poll_wait = 500ms;
// A retry sooner than this would only add load to a worker that is merely slow.
constexpr auto min_retry_interval = 50ms;
// Messages taken from one socket per wake-up, so one busy socket cannot starve the others.
constexpr int max_receive_batch = 512;

constexpr int requests_hwm = 10'000;
constexpr int events_hwm = 100'000;

// CURVE client keys of the worker link (docs/design.md §6), set before connecting so every
// connection does the handshake: a worker that does not know this api's key, or an impostor
// without the worker's secret key, gets no connection at all. No keys: plain.
void use_curve(zmq::socket_t& socket, const api_link_keys& keys) {
  if (keys.secret_key.empty()) return;
  std::array<char, z85_key_length + 1> public_key{};
  if (zmq_curve_public(public_key.data(), keys.secret_key.c_str()) != 0) throw zmq::error_t();
  socket.set(zmq::sockopt::curve_serverkey, keys.worker_public_key);
  socket.set(zmq::sockopt::curve_publickey, std::string_view(public_key.data(), z85_key_length));
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

zmq::socket_t open_dealer(zmq::context_t& context, const std::string& endpoint,
                          const api_link_keys& keys) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  use_curve(socket, keys);
  socket.set(zmq::sockopt::sndhwm, requests_hwm);
  socket.set(zmq::sockopt::rcvhwm, requests_hwm);
  // Refuse to queue for a worker that is not connected: a request sent once (stop, create)
  // must fail now rather than reach a restarted worker after its caller got a 503.
  socket.set(zmq::sockopt::immediate, 1);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 1000);
  // Notices a worker host that vanished without closing its connection.
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 3000);
  socket.connect(endpoint);
  return socket;
}

// A PAIR that receives the DEALER's disconnections: a request sent on a connection that dropped
// may be lost and is worth resending; one on a live connection is not.
zmq::socket_t open_monitor(zmq::context_t& context, zmq::socket_t& dealer, std::size_t worker) {
  const std::string endpoint = "inproc://streamgate-worker-monitor-" + std::to_string(worker);
  if (zmq_socket_monitor(dealer.handle(), endpoint.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
    throw zmq::error_t();
  zmq::socket_t monitor(context, zmq::socket_type::pair);
  monitor.set(zmq::sockopt::linger, 0);
  monitor.connect(endpoint);
  return monitor;
}

zmq::socket_t open_sub(zmq::context_t& context, const std::string& endpoint,
                       const api_link_keys& keys) {
  zmq::socket_t socket(context, zmq::socket_type::sub);
  use_curve(socket, keys);
  socket.set(zmq::sockopt::rcvhwm, events_hwm);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 1000);
  // Every user: which users have sockets here changes all the time, and the registry filters.
  socket.set(zmq::sockopt::subscribe, "");
  socket.connect(endpoint);
  return socket;
}

// Reads one whole multipart message; false when none is waiting. Parts past `frames.size()`
// are read and dropped, so the next message starts clean; `count` says how many there were.
template <std::size_t N>
bool receive_message(zmq::socket_t& socket, std::array<zmq::message_t, N>& frames,
                     std::size_t& count) {
  zmq::message_t part;
  if (!socket.recv(part, zmq::recv_flags::dontwait)) return false;
  count = 0;
  for (;;) {
    const bool more = part.more();
    if (count < N) frames[count] = std::move(part);
    ++count;
    if (!more) return true;
    // The rest of a message arrives with its first part, so this never waits.
    static_cast<void>(socket.recv(part));
  }
}

std::optional<std::uint64_t> parse_corr(std::string_view text) {
  std::uint64_t corr = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), corr);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return corr;
}

// {"type":"error","requestId",...,"error":{...}}: the WebSocket error shape.
std::string given_up_message(std::string_view request_id) {
  return prepend_fields(R"("type":"error",)" + id_field("requestId", request_id),
                        encode_error(error_code::unavailable,
                                     "no worker decided this start in time; "
                                     "retry with the same requestId"));
}

}  // namespace

zmq_bridge::zmq_bridge(const std::vector<worker_endpoint>& workers, const api_link_keys& keys,
                       call_queue& calls,
                       in_flight_requests& in_flight, ws_registry& events, link_stats& stats,
                       std::atomic<std::uint64_t>& next_corr, playback_gate& playback,
                       token_cache& confirmed_tokens)
    : calls_(calls),
      in_flight_(in_flight),
      events_(events),
      playback_(playback),
      confirmed_tokens_(confirmed_tokens),
      stats_(stats),
      next_corr_(next_corr) {
  // Opened on the constructing thread and handed to the bridge thread by its start (a full
  // memory barrier, which is what ZeroMQ asks for moving a socket between threads).
  workers_.reserve(workers.size());
  for (const worker_endpoint& w : workers) {
    zmq::socket_t dealer = open_dealer(context_, w.requests, keys);
    zmq::socket_t monitor = open_monitor(context_, dealer, workers_.size());
    workers_.push_back(
        {std::move(dealer), open_sub(context_, w.events, keys), std::move(monitor)});
    workers_.back().unheard_since_ms = wall_ms();
  }
}

zmq_bridge::~zmq_bridge() { stop(); }

void zmq_bridge::start() {
  thread_ = std::thread([this] { run(); });
}

void zmq_bridge::stop() {
  stopping_.store(true);
  calls_.wake();
  if (thread_.joinable())
    thread_.join();
  else
    fail_all();
}

bool zmq_bridge::worker_up() const { return up_.load(std::memory_order_relaxed); }

void zmq_bridge::run() {
  std::vector<zmq_pollitem_t> items;
  items.push_back({nullptr, calls_.wake_fd(), ZMQ_POLLIN, 0});
  for (worker_sockets& w : workers_) {
    items.push_back({w.requests.handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({w.events.handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({w.monitor.handle(), 0, ZMQ_POLLIN, 0});
  }
  try {
    while (!stopping_.load()) {
      auto now = clock::now();
      if (now >= next_ping_) ping_workers(now);
      fire_timers(now);
      const long wait = static_cast<long>(poll_timeout(now).count());
      // EINTR (a signal landed on this thread) is just an early wake-up.
      if (zmq_poll(items.data(), static_cast<int>(items.size()), wait) < 0 && errno != EINTR)
        throw zmq::error_t();
      now = clock::now();
      if (items[0].revents & ZMQ_POLLIN) take_calls(now);
      for (std::size_t i = 0; i < workers_.size(); ++i) {
        // Disconnections first: a retry due in this round must know of them.
        if (items[3 + 3 * i].revents & ZMQ_POLLIN) receive_disconnections(i);
        if (items[1 + 3 * i].revents & ZMQ_POLLIN) receive_replies(i, now);
        if (items[2 + 3 * i].revents & ZMQ_POLLIN) receive_events(workers_[i], now);
      }
      update_up(now);
      metrics().set_pending_calls(pending_.size());
    }
  } catch (const std::exception& e) {
    spdlog::critical("worker link failed, every request now gets 503: {}", e.what());
  }
  fail_all();
}

void zmq_bridge::fail_all() {
  up_.store(false, std::memory_order_relaxed);
  for (worker_call& c : calls_.close()) {
    if (!c.request_id.empty()) in_flight_.remove(c.request_id);
    if (c.waiter) std::move(*c.waiter).complete(std::nullopt);
  }
  while (!pending_.empty()) finish(pending_.begin(), std::nullopt);
  workers_.clear();
}

void zmq_bridge::take_calls(clock::time_point now) {
  calls_.take(taken_);
  for (worker_call& c : taken_) {
    const std::uint64_t corr = c.corr;
    const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now);
    const auto interval = std::max<std::chrono::milliseconds>(window / 4, min_retry_interval);
    const auto [it, inserted] =
        pending_.try_emplace(corr, pending_call{std::move(c), interval, {}, std::nullopt, 0});
    if (!inserted) continue;  // corrs are unique; a repeat is a bug, not a second caller
    if (send(it->second, now)) {
      stats_.sent.fetch_add(1, std::memory_order_relaxed);
    } else if (!it->second.call.idempotent) {
      finish(it, std::nullopt);
      continue;
    }
    schedule(corr, it->second, now);
  }
  taken_.clear();
}

bool zmq_bridge::send(pending_call& p, clock::time_point now) {
  const std::size_t target = pick_worker(p.call.route_key, now);
  worker_sockets& w = workers_[target];
  if (w.requests.send(zmq::buffer(p.call.wire), zmq::send_flags::dontwait)) {
    p.sent_to = target;
    p.sent_on = w.connection;
    return true;
  }
  p.sent_to.reset();
  stats_.refused.fetch_add(1, std::memory_order_relaxed);
  return false;
}

bool zmq_bridge::may_be_lost(const pending_call& p, clock::time_point now) const {
  return !p.sent_to || workers_[*p.sent_to].connection != p.sent_on ||
         pick_worker(p.call.route_key, now) != *p.sent_to;
}

void zmq_bridge::schedule(std::uint64_t corr, pending_call& p, clock::time_point now) {
  if (p.call.idempotent) {
    p.next_action = std::min(now + p.retry_interval, p.call.deadline);
    p.retry_interval *= 2;
  } else {
    p.next_action = p.call.deadline;
  }
  timers_.push({p.next_action, corr});
}

void zmq_bridge::fire_timers(clock::time_point now) {
  while (!timers_.empty() && timers_.top().at <= now) {
    const timer t = timers_.top();
    timers_.pop();
    const auto it = pending_.find(t.corr);
    // Answered already, or rescheduled: the timer is stale.
    if (it == pending_.end() || it->second.next_action != t.at) continue;
    if (now >= it->second.call.deadline) {
      stats_.timeouts.fetch_add(1, std::memory_order_relaxed);
      finish(it, std::nullopt);
      continue;
    }
    // Same bytes, same corr: whichever reply comes first answers, the worker decides once.
    if (may_be_lost(it->second, now) && send(it->second, now))
      stats_.resent.fetch_add(1, std::memory_order_relaxed);
    schedule(t.corr, it->second, now);
  }
}

void zmq_bridge::finish(pending_map::iterator it, std::optional<worker_reply> reply) {
  worker_call& c = it->second.call;
  if (!c.request_id.empty()) {
    in_flight_.remove(c.request_id);
    if (reply) metrics().observe_verdict_latency(clock::now() - c.created);
  }
  if (c.waiter) {
    std::move(*c.waiter).complete(std::move(reply));
  } else if (!reply && !c.request_id.empty()) {
    // A start answered 202 (or sent over a WebSocket) was promised a verdict on the user's
    // sockets: when none can come, they hear that instead of waiting for ever.
    events_.notify(c.user_id, given_up_message(c.request_id));
  }
  pending_.erase(it);
}

void zmq_bridge::ping_workers(clock::time_point now) {
  std::erase_if(pings_, [now](const auto& p) { return now - p.second.sent_at > liveness_window; });
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const std::uint64_t corr = next_corr_.fetch_add(1, std::memory_order_relaxed);
    const std::string wire = encode_request(request{corr, ping_request{}});
    if (workers_[i].requests.send(zmq::buffer(wire), zmq::send_flags::dontwait))
      pings_.emplace(corr, ping{i, now});
  }
  const bool any_alive = std::any_of(workers_.begin(), workers_.end(),
                                     [&](const worker_sockets& w) { return alive(w, now); });
  next_ping_ = now + (any_alive ? ping_interval : ping_interval_down);
}

void zmq_bridge::receive_replies(std::size_t worker, clock::time_point now) {
  std::array<zmq::message_t, 4> frames;
  std::size_t count = 0;
  for (int n = 0;
       n < max_receive_batch && receive_message(workers_[worker].requests, frames, count); ++n) {
    const bool framed = count == 3 || count == 4;
    const auto corr = framed ? parse_corr(frames[0].to_string_view()) : std::nullopt;
    const auto result = framed ? parse_outcome(frames[1].to_string_view()) : std::nullopt;
    const auto note = count == 4 ? parse_playback_note(frames[3].to_string_view()) : std::nullopt;
    if (!corr || !result || (count == 4 && !note)) {
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("dropped a malformed reply of {} frames from worker {}", count, worker);
      continue;
    }
    mark_alive(worker, now);
    if (pings_.erase(*corr) != 0) continue;
    const auto it = pending_.find(*corr);
    if (it == pending_.end()) {
      stats_.late_replies.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    std::string body = frames[2].to_string();
    if (const auto* grant = note ? std::get_if<playback_grant>(&*note) : nullptr)
      body = prepend_fields(playback_.field(*grant, wall_ms()), body);
    finish(it, worker_reply{*result, std::move(body)});
  }
}

void zmq_bridge::receive_events(worker_sockets& w, clock::time_point now) {
  std::array<zmq::message_t, 4> frames;
  std::size_t count = 0;
  for (int n = 0; n < max_receive_batch && receive_message(w.events, frames, count); ++n) {
    w.last_heard = now;
    // Joined (again): events published before may have missed every socket, and a crashed
    // worker may have committed decisions it never published, so each fetches a snapshot.
    // Ends it published meanwhile went unheard too: playback tokens signed before the gap began
    // are distrusted (docs/design.md §9). Those signed during it, from its replies, stay valid:
    // else an api would refuse the tokens it handed out while its SUB was still joining.
    // A token revoked meanwhile went unheard as well: every confirmation is asked again.
    if (std::exchange(w.resync_when_heard, false)) {
      playback_.distrust_until(w.unheard_since_ms);
      confirmed_tokens_.clear();
      events_.resync_all();
    }
    if (count == 2 && frames[0].size() == 0) {  // a heartbeat, naming the worker's dataset
      note_dataset(w, frames[1].to_string_view());
      continue;
    }
    const bool framed = count == 3 || count == 4;
    auto mark = framed ? parse_sequence_frame(frames[2].to_string_view()) : std::nullopt;
    const auto note = count == 4 ? parse_playback_note(frames[3].to_string_view()) : std::nullopt;
    if (!mark || (count == 4 && !note)) {
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    stats_.events.fetch_add(1, std::memory_order_relaxed);
    std::string_view event = frames[1].to_string_view();
    std::string granted;  // the event with a playback token, rendered once for every socket
    if (note) {
      if (const auto* grant = std::get_if<playback_grant>(&*note)) {
        granted = prepend_fields(playback_.field(*grant, wall_ms()), event);
        event = granted;
      } else if (const auto* end = std::get_if<playback_end>(&*note)) {
        playback_.ended(end->stream_id, wall_ms());
      } else {
        // docs/design.md §6, revocation: the user's old token must not pass here on a cached
        // confirmation, nor keep a socket it opened; the sockets are closed, not sent the event.
        const auto& revoked = std::get<access_revoked>(*note);
        confirmed_tokens_.forget(revoked.user_id);
        events_.revoke(revoked.user_id);
        continue;
      }
    }
    events_.publish(frames[0].to_string_view(), event, std::move(*mark));
  }
}

void zmq_bridge::note_dataset(worker_sockets& w, std::string_view dataset) {
  if (dataset == w.dataset) return;
  w.dataset = std::string(dataset);
  if (dataset_.empty()) dataset_ = w.dataset;
  const bool foreign = w.dataset != dataset_;
  if (foreign) {
    stats_.foreign_dataset.fetch_add(1, std::memory_order_relaxed);
    spdlog::error(
        "a worker serves the dataset '{}', this api serves '{}': it gets no request (two stores "
        "would each grant a user the limit); point every worker at one store",
        w.dataset, dataset_);
  } else if (w.foreign) {
    spdlog::info("a worker serves the dataset '{}' again", dataset_);
  }
  w.foreign = foreign;
}

void zmq_bridge::receive_disconnections(std::size_t worker) {
  // Each event is two frames (event id and value, then the endpoint); only disconnections are
  // subscribed to, so each one counts.
  std::array<zmq::message_t, 2> frames;
  std::size_t count = 0;
  while (receive_message(workers_[worker].monitor, frames, count)) {
    ++workers_[worker].connection;
    if (!std::exchange(workers_[worker].resync_when_heard, true))
      workers_[worker].unheard_since_ms = wall_ms();
    spdlog::debug("lost the connection to worker {}", worker);
  }
}

void zmq_bridge::mark_alive(std::size_t worker, clock::time_point now) {
  workers_[worker].last_reply = now;
}

void zmq_bridge::update_up(clock::time_point now) {
  bool some_alive = false;
  for (const worker_sockets& w : workers_) {
    if (w.foreign || now - w.last_reply >= liveness_window) continue;
    if (now - w.last_heard >= liveness_window) {
      up_.store(false, std::memory_order_relaxed);
      return;
    }
    some_alive = true;
  }
  up_.store(some_alive, std::memory_order_relaxed);
}

bool zmq_bridge::alive(const worker_sockets& w, clock::time_point now) const {
  return !w.foreign && now - w.last_reply < liveness_window &&
         now - w.last_heard < liveness_window;
}

std::size_t zmq_bridge::pick_worker(std::size_t route_key, clock::time_point now) const {
  // The user's own worker while it lives, else the next live one; all down: the user's own,
  // whose DEALER refuses and leaves the call to its retries.
  const std::size_t first = route_key % workers_.size();
  for (std::size_t k = 0; k < workers_.size(); ++k) {
    const std::size_t i = (first + k) % workers_.size();
    if (alive(workers_[i], now)) return i;
  }
  return first;
}

std::chrono::milliseconds zmq_bridge::poll_timeout(clock::time_point now) const {
  clock::time_point next = std::min(next_ping_, now + max_poll_wait);
  if (!timers_.empty()) next = std::min(next, timers_.top().at);
  if (next <= now) return std::chrono::milliseconds::zero();
  // Rounded up: waking a fraction of a millisecond early would find nothing due and spin.
  return std::chrono::ceil<std::chrono::milliseconds>(next - now);
}

}  // namespace streamgate
