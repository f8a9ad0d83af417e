// Which workers live, what the api may serve meanwhile, and where a call goes: the pings, the
// verdict of update_up() after every piece of work on the strand, and the route of a call.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "api/worker_link/zmq_bridge.hpp"
#include "api/worker_link/zmq_sockets.hpp"
#include "common/codec.hpp"
#include "common/messages.hpp"

namespace streamgate {

namespace {

using namespace std::chrono_literals;

constexpr auto ping_interval = 500ms;
// While no worker answers: a worker that (re)starts is found within this.
constexpr auto ping_interval_down = 100ms;

}  // namespace

void zmq_bridge::ping_workers(clock::time_point now) {
  std::erase_if(pings_, [now](const auto& p) { return now - p.second.sent_at > liveness_window; });
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    const std::uint64_t corr = next_corr_.fetch_add(1, std::memory_order_relaxed);
    const std::string wire =
        encode_request(request{corr, ping_request{workers_[i].clock_apart.offset_ms()}});
    workers_[i].sent = true;
    if (again_if_interrupted([&] {
          return workers_[i].requests.send(zmq::buffer(wire), zmq::send_flags::dontwait);
        }))
      pings_.emplace(corr, ping{i, now, wall_ms(), workers_[i].connection});
  }
  check_named_lives(now);
  const bool any_alive = std::any_of(workers_.begin(), workers_.end(),
                                     [&](const worker_sockets& w) { return alive(w, now); });
  next_ping_ = now + (any_alive ? ping_interval : ping_interval_down);
}

void zmq_bridge::check_named_lives(clock::time_point now) {
  // The lives the workers heard now name, and those this api hears itself. A life counts as
  // heard only while its worker is alive (answers too): the moment this api routes a worker's
  // users elsewhere, that worker's ends may go unheard here.
  std::unordered_set<std::string_view> named;
  std::unordered_set<std::string_view> heard;
  for (const worker_sockets& w : workers_) {
    if (!serves_our_dataset(w) || now - w.last_heard >= liveness_window) continue;
    if (w.heard_through && alive(w, now)) heard.insert(w.heard_through->life);
    named.insert(w.named_lives.begin(), w.named_lives.end());
  }
  std::erase_if(named_since_, [&](const auto& n) { return !named.contains(n.first); });
  std::erase_if(ended_lives_, [&](const std::string& life) { return !named.contains(life); });
  std::string_view missed;
  std::uint64_t missed_count = 0;
  for (const std::string_view life : named) {
    const auto since = named_since_.try_emplace(std::string(life), now).first->second;
    if (heard.contains(life) || ended_lives_.contains(std::string(life))) continue;
    // A worker that just started is named before this api's SUB has joined it.
    if (now - since < liveness_window) continue;
    missed = life;
    ++missed_count;
  }
  stats_.lives_unheard.store(missed_count, std::memory_order_relaxed);
  const bool misses = !missed.empty();
  if (misses == std::exchange(misses_a_life_, misses)) return;
  if (misses_a_life_)
    spdlog::error(
        "the store names a worker alive (life '{}') that this api does not hear: it may end "
        "streams unheard here, so this api serves no media until it hears it or its mark lapses "
        "(is that worker in --workers, and reachable?)",
        missed);
  else
    spdlog::info("every worker the store names alive is heard: this api serves media again");
}

void zmq_bridge::mark_alive(std::size_t worker, clock::time_point now) {
  workers_[worker].last_reply = now;
}

void zmq_bridge::update_up(clock::time_point now) {
  std::uint64_t alive_count = 0;
  bool unheard = false;
  bool foreign_heard = false;
  bool never_heard = false;      // a worker whose heartbeat (and so its dataset) never came
  bool unheard_answers = false;  // one of those answers
  bool ours_answer = false;      // a worker of this api's dataset answers
  bool lost = false;             // one stopped answering, and nobody answered since
  bool alive_changed = false;    // a worker came alive or stopped being so
  int sole_writers = 0;          // workers heard whose store names no life but their own
  for (worker_sockets& w : workers_) {
    if (w.dataset.empty()) {
      never_heard = true;
      unheard_answers = unheard_answers || now - w.last_reply < liveness_window;
    } else if (!serves_our_dataset(w) && now - w.last_heard < liveness_window) {
      foreign_heard = true;
    } else if (serves_our_dataset(w) && now - w.last_heard < liveness_window &&
               names_itself_alone(w)) {
      ++sole_writers;
    }
    const bool answers = serves_our_dataset(w) && now - w.last_reply < liveness_window;
    if (std::exchange(w.answering, answers) && !answers) w.lost = true;
    const bool is_alive = alive(w, now);
    alive_changed = alive_changed || std::exchange(w.was_alive, is_alive) != is_alive;
    // Back before anyone else answered: its events tell whether it restarted or dropped
    // anything meanwhile (note_position).
    if (answers) w.lost = false;
    lost = lost || w.lost;
    if (!answers) continue;
    ours_answer = true;
    if (!heard(w, now))
      unheard = true;
    else
      ++alive_count;
  }
  if (lost && ours_answer) forget_the_lost();
  // Whether a life goes unheard changes with the heartbeats (checked at every ping) and with
  // which workers are alive (here, so that no call is routed away from a worker before then).
  if (alive_changed) check_named_lives(now);
  note_split(foreign_heard);
  note_copies(sole_writers > 1);
  // Before settled_by_, one never heard may yet answer.
  const bool unknown = unheard_answers || (never_heard && now < settled_by_);
  note_unheard_answers(unheard_answers && now >= settled_by_);
  routing_ = !split_ && !copies_ && !unknown;
  const bool up = alive_count > 0 && !unheard && !misses_a_life_ && routing_;
  // Media only while up: hearing no live worker, this api cannot tell a worker that is down
  // (nothing ends meanwhile) from a link cut while the workers decide for other apis
  // (docs/design.md §9).
  playback_.hear_until(up ? now + liveness_window : clock::time_point::min());
  stats_.workers_alive.store(routing_ ? alive_count : 0, std::memory_order_relaxed);
  up_.store(up, std::memory_order_relaxed);
}

void zmq_bridge::forget_the_lost() {
  // A worker that stopped answering may have committed ends it never published, or published
  // ends this api never heard, and if it does not come back nobody ever will; its users are now
  // decided by the one that answers (docs/design.md §9).
  spdlog::warn(
      "a worker stopped answering while another serves: playback tokens signed until now are "
      "refused until renewed, and every WebSocket resyncs");
  for (worker_sockets& w : workers_) w.lost = false;
  forget_what_went_unheard();
}

void zmq_bridge::note_split(bool foreign_heard) {
  if (foreign_heard == std::exchange(split_, foreign_heard)) return;
  if (split_)
    spdlog::error(
        "a worker of another dataset than '{}' answers: this api sends no worker anything "
        "until it stops",
        dataset_);
  else
    spdlog::info("no worker of another dataset answers: this api serves '{}' again", dataset_);
}

bool zmq_bridge::names_itself_alone(const worker_sockets& w) {
  return w.heard_through && w.named_lives.size() == 1 && w.named_lives[0] == w.heard_through->life;
}

void zmq_bridge::note_copies(bool copies) {
  if (copies == std::exchange(copies_, copies)) return;
  stats_.store_copies.store(copies ? 1 : 0, std::memory_order_relaxed);
  if (copies_)
    spdlog::error(
        "two workers of dataset '{}' each name only themselves alive: each is the only writer of "
        "a store of its own (a copy of one SQLite file?), and each would grant a user the limit; "
        "this api sends no worker anything until one of them stops",
        dataset_);
  else
    spdlog::info("no two workers of dataset '{}' serve copies of its store: this api serves again",
                 dataset_);
}

void zmq_bridge::note_unheard_answers(bool unheard_answers) {
  if (unheard_answers == std::exchange(unheard_answers_, unheard_answers)) return;
  if (unheard_answers_)
    spdlog::error(
        "a worker answers whose events this api has never heard (is its --events endpoint "
        "right?): this api sends no worker anything until it hears that worker");
  else
    spdlog::info("every worker that answers is heard: this api serves again");
}

bool zmq_bridge::serves_our_dataset(const worker_sockets& w) const {
  return !w.dataset.empty() && w.dataset == dataset_;
}

bool zmq_bridge::heard(const worker_sockets& w, clock::time_point now) {
  return now - w.last_heard < liveness_window && !w.catching_up &&
         (!w.answered_through ||
          (w.heard_through && w.heard_through->life == w.answered_through->life));
}

bool zmq_bridge::alive(const worker_sockets& w, clock::time_point now) const {
  return serves_our_dataset(w) && now - w.last_reply < liveness_window && heard(w, now);
}

bool zmq_bridge::hears_what_it_decides(const worker_sockets& w) {
  // A DEALER and a SUB reconnect each on its own: a restarted worker can take a call before this
  // api's SUB has joined its new life, and publish the verdict unheard (alive() may still go by
  // the old life's answers, and an unknown answering life is not held against it).
  return w.answered_through && w.heard_through && w.answered_on == w.connection &&
         w.answered_through->life == w.heard_through->life;
}

bool zmq_bridge::may_send(const pending_call& p, std::size_t target) const {
  return !p.call.told_by_events() || hears_what_it_decides(workers_[target]);
}

std::optional<std::size_t> zmq_bridge::pick_worker(std::size_t route_key,
                                                   clock::time_point now) const {
  // The user's own worker while it lives, else the next live one. None alive: the first of them
  // from the user's own that serves this api's dataset, whose DEALER refuses the call or holds
  // it for its return, and leaves it to the retries. Never one of another dataset, alive or not,
  // nor one not heard yet: its store would grant the limit again (docs/design.md, "Dataset
  // identity"). None of this api's dataset at all, or one of another or of none known answering:
  // no one, and the call waits.
  if (!routing_) return std::nullopt;
  const std::size_t first = route_key % workers_.size();
  std::optional<std::size_t> ours;
  for (std::size_t k = 0; k < workers_.size(); ++k) {
    const std::size_t i = (first + k) % workers_.size();
    if (alive(workers_[i], now)) return i;
    if (!ours && serves_our_dataset(workers_[i])) ours = i;
  }
  return ours;
}

}  // namespace streamgate
