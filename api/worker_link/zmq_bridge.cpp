#include "api/worker_link/zmq_bridge.hpp"

#include <algorithm>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <string>
#include <utility>

#include "api/metrics/metrics.hpp"
#include "api/views/views.hpp"
#include "api/worker_link/zmq_sockets.hpp"
#include "common/clock.hpp"
#include "common/codec.hpp"
#include "common/messages.hpp"

namespace streamgate {

namespace {

using namespace std::chrono_literals;

// A retry sooner than this would only add load to a worker that is merely slow.
constexpr auto min_retry_interval = 50ms;
// A call is looked at again at least this often. It is resent only when it may be lost
// (may_be_lost), so a look costs a timer; and a start accepted for a minute whose worker crashed
// goes out again soon after a worker can take it, not a quarter of the minute later.
constexpr auto max_retry_interval = 500ms;

// The WebSocket error a start's sockets get when no worker decided it.
std::string given_up_message(std::string_view request_id) {
  return render_socket_error(error{error_code::unavailable,
                                   "no worker decided this start in time; "
                                   "retry with the same requestId"},
                             "requestId", request_id);
}

}  // namespace

zmq_bridge::zmq_bridge(const std::vector<worker_endpoint>& workers, const api_link_keys& keys,
                       call_queue& calls, in_flight_requests& in_flight, ws_registry& events,
                       link_stats& stats, std::atomic<std::uint64_t>& next_corr,
                       playback_gate& playback, token_cache& confirmed_tokens)
    : calls_(calls),
      in_flight_(in_flight),
      events_(events),
      playback_(playback),
      confirmed_tokens_(confirmed_tokens),
      stats_(stats),
      next_corr_(next_corr) {
  // Opened on the constructing thread and handed to the strand by start()'s post (a full memory
  // barrier, which is what ZeroMQ asks for moving a socket between threads).
  workers_.reserve(workers.size());
  for (const worker_endpoint& w : workers) {
    zmq::socket_t dealer = open_dealer(context_, w.requests, keys);
    zmq::socket_t monitor = open_monitor(context_, dealer, workers_.size());
    workers_.push_back({std::move(dealer), open_sub(context_, w.events, keys), std::move(monitor)});
  }
  // Nothing heard yet: no media until update_up() finds every answering worker heard.
  playback_.hear_until(clock::time_point::min());
}

zmq_bridge::~zmq_bridge() = default;

void zmq_bridge::start(asio::io_context& io) {
  settled_by_ = clock::now() + liveness_window;
  strand_.emplace(asio::make_strand(io));
  timer_.emplace(*strand_);
  // Each reading ends like every other piece of work on the strand: settled.
  const auto then_settle = [this](auto receive) {
    return [this, receive] {
      const auto now = clock::now();
      const bool more = receive(now);
      settle(now);
      return more;
    };
  };
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    worker_sockets& w = workers_[i];
    w.requests_ready = std::make_unique<zmq_readable>(
        w.requests,
        then_settle([this, i](clock::time_point now) { return receive_replies(i, now); }));
    w.events_ready = std::make_unique<zmq_readable>(
        w.events,
        then_settle([this, i](clock::time_point now) { return receive_events(workers_[i], now); }));
    w.monitor_ready = std::make_unique<zmq_readable>(
        w.monitor, then_settle([this, i](clock::time_point) { return receive_disconnections(i); }));
  }
  asio::post(*strand_, [this] {
    for (worker_sockets& w : workers_) {
      w.monitor_ready->open(*strand_);
      w.requests_ready->open(*strand_);
      w.events_ready->open(*strand_);
    }
    tick();
  });
}

void zmq_bridge::stop() {
  stopping_.store(true);
  if (strand_) asio::post(*strand_, [this] { close(false); });
}

void zmq_bridge::detach() {
  stopping_.store(true);
  // No thread runs the io_context any more: the strand is this thread's.
  close(true);
}

void zmq_bridge::close(bool destroy) {
  if (!std::exchange(closed_, true)) fail_all();
  for (worker_sockets& w : workers_)
    for (zmq_readable* r : {w.requests_ready.get(), w.events_ready.get(), w.monitor_ready.get()})
      if (r) r->close(destroy);
  if (timer_) timer_->cancel();
  if (!destroy) return;
  timer_.reset();
  strand_.reset();
}

void zmq_bridge::wake() {
  if (strand_) asio::post(*strand_, [this] { take_calls(); });
}

std::int64_t zmq_bridge::wall_ms() { return streamgate::now().wall_ms; }

bool zmq_bridge::worker_up() const { return up_.load(std::memory_order_relaxed); }

void zmq_bridge::fail_all() {
  up_.store(false, std::memory_order_relaxed);
  for (worker_call& c : calls_.close()) {
    if (!c.request_id.empty()) in_flight_.remove(c.request_id);
    if (c.waiter) std::move(*c.waiter).complete(std::nullopt);
  }
  while (!pending_.empty()) finish(pending_.begin(), std::nullopt);
}

void zmq_bridge::tick() {
  if (closed_) return;
  const auto now = clock::now();
  // Disconnections first: a retry due now must know of them.
  for (std::size_t i = 0; i < workers_.size(); ++i) receive_disconnections(i);
  if (now >= next_ping_) ping_workers(now);
  fire_timers(now);
  settle(now);
}

void zmq_bridge::settle(clock::time_point now) {
  send_held(now);  // before the DEALERs sent on are checked
  for (worker_sockets& w : workers_)
    if (std::exchange(w.sent, false)) w.requests_ready->check();
  update_up(now);
  metrics().set_pending_calls(pending_.size());
  arm_timer(now);
}

void zmq_bridge::arm_timer(clock::time_point now) {
  const clock::time_point due = next_due(now);
  // A timer already set sooner wakes the strand in time: every wake-up re-arms for what is due.
  if (due >= timer_at_) return;
  timer_at_ = due;
  timer_->expires_at(due);
  timer_->async_wait(asio::bind_executor(*strand_, [this](const boost::system::error_code& ec) {
    if (ec) return;  // re-armed sooner, or closed
    timer_at_ = clock::time_point::max();
    tick();
  }));
}

void zmq_bridge::take_calls() {
  if (closed_) return;
  const auto now = clock::now();
  const std::int64_t now_wall_ms = wall_ms();
  calls_.take(taken_);
  // Every worker's share of the calls leaves as one message (or several of
  // max_entries_per_message each, common/messages.hpp).
  std::vector<std::vector<pending_call*>> to_worker(workers_.size());
  std::vector<std::uint64_t> corrs;
  for (worker_call& c : taken_) {
    const std::uint64_t corr = c.corr;
    const auto window = std::chrono::duration_cast<std::chrono::milliseconds>(c.deadline - now);
    const auto interval =
        std::clamp<std::chrono::milliseconds>(window / 4, min_retry_interval, max_retry_interval);
    const auto [it, inserted] = pending_.try_emplace(
        corr, pending_call{std::move(c), interval, {}, std::nullopt, 0, now_wall_ms});
    if (!inserted) continue;  // corrs are unique; a repeat is a bug, not a second caller
    corrs.push_back(corr);
  }
  taken_.clear();
  // Pointers to the map's values stay valid while nothing is inserted or erased.
  for (const std::uint64_t corr : corrs) {
    pending_call& p = pending_.at(corr);
    const auto target = pick_worker(p.call.route_key, now);
    if (target && may_send(p, *target))
      to_worker[*target].push_back(&p);
    else
      stats_.refused.fetch_add(1, std::memory_order_relaxed);
  }
  std::vector<pending_call*> message;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    for (std::size_t k = 0; k < to_worker[i].size(); k += max_entries_per_message) {
      const auto from = to_worker[i].begin() + static_cast<std::ptrdiff_t>(k);
      message.assign(from, from + static_cast<std::ptrdiff_t>(
                                      std::min(max_entries_per_message, to_worker[i].size() - k)));
      send(i, message);
    }
  }
  for (const std::uint64_t corr : corrs) {
    const auto it = pending_.find(corr);
    if (it->second.sent_to) {
      stats_.sent.fetch_add(1, std::memory_order_relaxed);
    } else if (!it->second.call.idempotent) {
      finish(it, std::nullopt);
      continue;
    }
    schedule(corr, it->second, now);
  }
  settle(now);
}

bool zmq_bridge::send(pending_call& p, clock::time_point now) {
  const auto target = pick_worker(p.call.route_key, now);
  if (!target || !may_send(p, *target)) {
    p.sent_to.reset();
    stats_.refused.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  std::vector<pending_call*> one{&p};
  return send(*target, one);
}

bool zmq_bridge::send(std::size_t target, const std::vector<pending_call*>& calls) {
  worker_sockets& w = workers_[target];
  w.sent = true;
  // A DEALER takes a message whole or not at all: only its first part can be refused.
  bool taken = true;
  for (std::size_t k = 0; k < calls.size() && taken; ++k) {
    const auto flags = k + 1 < calls.size() ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                            : zmq::send_flags::dontwait;
    taken = again_if_interrupted(
        [&] { return w.requests.send(zmq::buffer(calls[k]->call.wire), flags).has_value(); });
  }
  for (pending_call* p : calls) {
    if (taken) {
      p->sent_to = target;
      p->sent_on = w.connection;
    } else {
      p->sent_to.reset();
      stats_.refused.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return taken;
}

bool zmq_bridge::may_be_lost(const pending_call& p, clock::time_point now) const {
  return !p.sent_to || workers_[*p.sent_to].connection != p.sent_on ||
         pick_worker(p.call.route_key, now) != *p.sent_to;
}

void zmq_bridge::schedule(std::uint64_t corr, pending_call& p, clock::time_point now) {
  if (p.call.idempotent) {
    p.next_action = std::min(now + p.retry_interval, p.call.deadline);
    p.retry_interval =
        std::min<std::chrono::milliseconds>(p.retry_interval * 2, max_retry_interval);
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

void zmq_bridge::send_held(clock::time_point now) {
  bool heard_again = false;
  for (worker_sockets& w : workers_) {
    const bool was_hearing = std::exchange(w.hearing, hears_what_it_decides(w));
    heard_again = heard_again || (w.hearing && !was_hearing);
  }
  if (!heard_again) return;
  for (auto& [corr, p] : pending_) {
    if (p.sent_to || now >= p.call.deadline || !send(p, now)) continue;
    stats_.resent.fetch_add(1, std::memory_order_relaxed);
    schedule(corr, p, now);
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
  } else if (!reply && c.told_by_events()) {
    // A start answered 202 (or sent over a WebSocket) was promised a verdict on the user's
    // sockets: when none can come, they hear that instead of waiting for ever.
    events_.notify(c.user_id, given_up_message(c.request_id));
  }
  pending_.erase(it);
}

zmq_bridge::clock::time_point zmq_bridge::next_due(clock::time_point now) const {
  clock::time_point next = std::max(next_ping_, now);
  if (!timers_.empty()) next = std::min(next, timers_.top().at);
  return next;
}

}  // namespace streamgate
