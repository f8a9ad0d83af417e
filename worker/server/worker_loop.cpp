#include "worker/server/worker_loop.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <variant>

#include "common/clock.hpp"
#include "common/codec.hpp"
#include "common/messages.hpp"
#include "worker/server/dataset_settings.hpp"
#include "worker/server/heartbeat.hpp"

namespace streamgate {

namespace {

// Generous but bounded queues: a burst of tens of thousands of requests is absorbed (an api's own
// call queue bounds what it sends, and replies answer only what was asked). Events are sent
// unasked, in messages of up to max_entries_per_message each: an api that stops reading them
// costs at most about 100,000 events here (ZeroMQ drops beyond it; the api resyncs its sockets).
constexpr int high_water_mark = 100'000;
constexpr int events_high_water_mark = static_cast<int>(100'000 / max_entries_per_message);
// Long enough for the last replies to leave at shutdown, short enough never to hang it.
constexpr int linger_ms = 200;
// The longest wait between two checks of the stop flag, and between two looks at the lease index.
constexpr std::chrono::milliseconds expiry_interval{100};
// How often a shared store is asked whether it still holds its dataset (hardening: Redis that
// restarted without persistence).
constexpr std::chrono::seconds dataset_check_interval{1};
// After the store failed: long enough not to spin on a store that is down, short enough that
// the apis' resends find it back soon.
constexpr std::chrono::milliseconds store_retry_wait{200};
// The store's background step, forty times a second, each step small so that it never stalls a
// batch for long: the audit trail and the remembered starts are pruned 100 records at a time
// (4,000 of each a second outpaces what this worker writes, bench/soak.sh, and per-user caps
// bound both meanwhile). The SQLite store folds its decision log on a thread of its own and
// skips a step while a fold runs there (docs/design.md §8).
constexpr std::size_t records_per_prune = 100;
constexpr std::chrono::milliseconds prune_interval{25};
// A step waits while requests are waiting, so that it runs between batches rather than in front
// of one; never longer than this past its time, so that saturation does not starve it
// (bench/HISTORY.md, "Changes measured": WebSocket p99 at 1,000/s and saturated req/s both better).
constexpr std::chrono::milliseconds prune_deferral_limit{100};
// This worker's life is marked alive in the store four times a second, each mark for six times
// that: a worker that stalls a little (a long batch) stays named, and one that died is named no
// longer 1.5 s after its last mark, when an api cut off from it serves media again
// (docs/design.md §9). A clean stop unmarks it at once.
constexpr std::chrono::milliseconds life_mark_interval{250};
constexpr std::chrono::milliseconds life_mark_validity{1500};

zmq::socket_t make_socket(zmq::context_t& context, zmq::socket_type type,
                          const std::string& endpoint, const std::string& curve_secret_key,
                          int send_high_water_mark) {
  zmq::socket_t socket(context, type);
  // Before the bind, like every option: a connection accepted before it was set would keep the
  // default.
  socket.set(zmq::sockopt::sndhwm, send_high_water_mark);
  socket.set(zmq::sockopt::rcvhwm, high_water_mark);
  socket.set(zmq::sockopt::linger, linger_ms);
  // Set before the bind: every connection it accepts then does the CURVE handshake.
  if (!curve_secret_key.empty()) {
    socket.set(zmq::sockopt::curve_server, 1);
    socket.set(zmq::sockopt::curve_secretkey, curve_secret_key);
  }
  try {
    socket.bind(endpoint);
  } catch (const zmq::error_t& e) {
    // ZeroMQ's message alone ("Address already in use") does not say which endpoint.
    throw std::runtime_error("cannot bind '" + endpoint + "': " + e.what());
  }
  return socket;
}

}  // namespace

worker_loop::worker_loop(zmq::context_t& context, const worker_endpoint& bind, int max_batch,
                         decider& d, store& s, std::chrono::milliseconds audit_retention,
                         const std::string& curve_secret_key, std::string settings)
    : decider_(d),
      store_(s),
      settings_(std::move(settings)),
      max_batch_(static_cast<std::size_t>(std::max(max_batch, 1))),
      audit_retention_(audit_retention),
      requests_(make_socket(context, zmq::socket_type::router, bind.requests, curve_secret_key,
                            high_water_mark)),
      events_(make_socket(context, zmq::socket_type::pub, bind.events, curve_secret_key,
                          events_high_water_mark)) {
  // Alive as soon as it can serve: its claim's announcement kept a worker with other settings out
  // until now, this mark does from now on (worker/server/dataset_settings.hpp).
  mark_life();
}

void worker_loop::run(const std::atomic<bool>& stop_requested) {
  using clock = std::chrono::steady_clock;
  std::array<zmq::pollitem_t, 1> items{{{requests_.handle(), 0, ZMQ_POLLIN, 0}}};
  auto next_expiry = clock::now();
  auto next_dataset_check = clock::now() + dataset_check_interval;
  auto next_prune = clock::now() + prune_interval;
  auto next_life_mark = clock::now() + life_mark_interval;  // the constructor marked it
  while (!stop_requested.load()) {
    if (clock::now() >= next_life_mark) {
      next_life_mark = clock::now() + life_mark_interval;
      mark_life();
    }
    const auto now = clock::now();
    const auto wait = std::max(std::chrono::milliseconds::zero(),
                               std::chrono::ceil<std::chrono::milliseconds>(next_expiry - now));
    // Requests left in the inbox by the last batch are taken at once.
    zmq::poll(items.data(), items.size(),
              inbox_next_ < inbox_.size() ? std::chrono::milliseconds::zero()
                                          : std::min(wait, expiry_interval));
    for (std::size_t taken = 0; taken < max_batch_ && take_one(); ++taken) {
    }
    const bool expiry_due = clock::now() >= next_expiry;
    if (expiry_due) next_expiry = clock::now() + expiry_interval;
    if (!store_.exclusive() && clock::now() >= next_dataset_check) {
      next_dataset_check = clock::now() + dataset_check_interval;
      try {
        if (!store_.seeded())
          throw store_lost("the store no longer holds the dataset '" + decider_.epoch() +
                           "' (restarted without persistence?): not serving it; restart the "
                           "workers with --seed to seed it again, then the apis");
        check_settings(store_, settings_);
      } catch (const store_unavailable&) {
        // Unreachable is transient: the next batch answers 503 and the check runs again.
      }
    }
    if (!bodies_.empty() || expiry_due) answer_batch(expiry_due);
    if (clock::now() >= next_prune &&
        (!request_waiting() || clock::now() >= next_prune + prune_deferral_limit)) {
      next_prune = clock::now() + prune_interval;
      prune();
    }
  }
  try {
    store_.end_life(events_published_.life);
  } catch (const store_unavailable& e) {
    spdlog::warn("could not unmark this worker's life in the store: {}", e.what());
  }
  requests_.close();
  events_.close();
}

void worker_loop::mark_life() {
  try {
    lives_ = encode_worker_lives(
        store_.live_workers(events_published_.life, life_mark_validity.count()));
    if (std::exchange(life_mark_failing_, false))
      spdlog::info("this worker's life is marked in the store again");
  } catch (const store_unavailable& e) {
    // The heartbeats keep naming the lives of the last mark; the next mark tries again.
    if (!std::exchange(life_mark_failing_, true))
      spdlog::warn("could not mark this worker's life in the store (tried again every {} ms): {}",
                   life_mark_interval.count(), e.what());
  }
}

bool worker_loop::request_waiting() {
  return inbox_next_ < inbox_.size() || (requests_.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
}

bool worker_loop::read_message() {
  inbox_.clear();
  inbox_next_ = 1;  // after the identity
  zmq::message_t part;
  if (!requests_.recv(part, zmq::recv_flags::dontwait)) return false;
  // All parts of a message arrive together, so reading the rest never waits.
  for (;;) {
    const bool more = part.more();
    inbox_.push_back(std::move(part));
    if (!more) return true;
    static_cast<void>(requests_.recv(part));
  }
}

bool worker_loop::take_one() {
  if (inbox_next_ >= inbox_.size()) {
    if (!read_message()) return false;
    if (inbox_.size() < 2) {
      drop("a message of an identity and no request");
      return true;
    }
  }
  zmq::message_t identity;
  identity.copy(inbox_.front());
  const zmq::message_t& payload = inbox_[inbox_next_++];
  auto decoded = decode_request(payload.to_string_view());
  if (!decoded) {
    drop(decoded.error().message);
    return true;
  }
  // The api's metric scrapes are answered at once and stay out of the batch sizes.
  if (std::holds_alternative<stats_request>(decoded->body)) {
    std::vector<reply_address> to;
    to.push_back({std::move(identity), decoded->corr});
    send_replies(
        requests_, to,
        {{outcome::ok, batch_stats_.report(decider_.active_streams(), decider_.counters())}});
    return true;
  }
  const std::string_view api = identity.to_string_view();
  if (const auto* ping = std::get_if<ping_request>(&decoded->body)) {
    publish_heartbeat(events_, decider_.epoch(), events_published_, lives_);
    api_clocks_.heard(api, ping->clock_offset_ms, std::chrono::steady_clock::now());
    // Answered at once, naming this life: the api hears this worker only while its events come
    // from the life that answers (docs/design.md §9).
    std::vector<reply_address> to;
    to.push_back({std::move(identity), decoded->corr});
    send_replies(requests_, to, {{outcome::ok, clock_reading{now().wall_ms, events_published_}}});
    return true;
  }
  deadlines_.push_back(api_clocks_.deadline_here(api, decoded->deadline_ms));
  waiting_.push_back({std::move(identity), decoded->corr});
  bodies_.push_back(std::move(decoded->body));
  return true;
}

void worker_loop::drop(std::string_view reason) {
  dropped_.fetch_add(1, std::memory_order_relaxed);
  spdlog::debug("dropped a malformed request: {}", reason);
}

void worker_loop::answer_batch(bool expiry_due) {
  const std::size_t work = bodies_.size();
  const auto began = std::chrono::steady_clock::now();
  try {
    const std::vector<std::string> due =
        expiry_due ? decider_.due_users() : std::vector<std::string>{};
    decider_.decide(bodies_, deadlines_, due, replies_, to_publish_);
  } catch (const store_unavailable& e) {
    // Answered at once rather than left to the api's timeout: the client hears 503 and retries
    // (a start with its requestId, which then finds whatever was committed). Nothing of the
    // batch's decisions is told, since none of it is known to be durable.
    spdlog::error("store unavailable, {} requests answered unavailable: {}", waiting_.size(),
                  e.what());
    const reply unavailable{outcome::unavailable,
                            error{error_code::unavailable, "the store is unreachable"}};
    send_replies(requests_, waiting_, std::vector<reply>(waiting_.size(), unavailable));
    waiting_.clear();
    bodies_.clear();
    deadlines_.clear();
    replies_.clear();
    to_publish_.clear();
    std::this_thread::sleep_for(store_retry_wait);
    return;
  }
  if (work > 0) {
    batch_stats_.observe(work);
    batch_stats_.observe_batch_time(std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - began));
  }
  publish_events(events_, to_publish_, events_published_);
  send_replies(requests_, waiting_, replies_);
  waiting_.clear();
  bodies_.clear();
  deadlines_.clear();
  replies_.clear();
  to_publish_.clear();
}

void worker_loop::prune() {
  const auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  const auto began = std::chrono::steady_clock::now();
  try {
    store_.prune((wall - audit_retention_).count(), records_per_prune);
    batch_stats_.observe_step_time(std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - began));
  } catch (const store_unavailable& e) {
    // Not urgent: the next second tries again, and the next batch says whether the store is back.
    spdlog::warn("could not prune the audit trail and remembered starts: {}", e.what());
  }
}

}  // namespace streamgate
