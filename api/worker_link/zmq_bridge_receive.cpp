// The worker link's reading side (api/worker_link/zmq_bridge.hpp): replies to the callers
// waiting for them, events to the WebSockets, heartbeats and disconnections to the liveness of
// each worker.

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "api/views/views.hpp"
#include "api/worker_link/zmq_bridge.hpp"
#include "api/worker_link/zmq_sockets.hpp"
#include "common/codec.hpp"
#include "common/wire/worker_codec.hpp"

namespace streamgate {

namespace {

// Replies and events taken from one socket per wake-up; the next batch waits its turn behind what
// this one queued. The io threads that read them also write every WebSocket, and a turn of a
// WebSocket's writer sends up to 64 KiB (api/websocket/websocket_session): a batch of events no
// larger than that keeps a socket that reads from falling behind while a worker publishes a
// burst. A message is taken whole, so a batch may end one message past this.
constexpr std::size_t max_receive_batch = 64;
// A reply is [corr] [outcome] [body] [playback note, or empty], an event [topic] [body]
// [sequence] [playback note, or empty]; a message holds one or more (common/messages.hpp).
constexpr std::size_t frames_per_entry = 4;
// A worker's clock this far from ours is told once: NTP keeps hosts milliseconds apart.
constexpr int clock_warning_ms = 1'000;

// A decimal frame: a reply's corr.
std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// An entry's playback note into `note` (none when its frame is empty); false when the frame is
// not a note.
bool read_note(const zmq::message_t& frame, std::optional<playback_note>& note) {
  note.reset();
  if (frame.size() == 0) return true;
  note = parse_playback_note(frame.to_string_view());
  return note.has_value();
}

bool holds_entries(const std::vector<zmq::message_t>& frames) {
  return !frames.empty() && frames.size() % frames_per_entry == 0;
}

// A message of events: its position, then the entries.
bool holds_numbered_entries(const std::vector<zmq::message_t>& frames) {
  return frames.size() > 1 && (frames.size() - 1) % frames_per_entry == 0;
}

}  // namespace

bool zmq_bridge::receive_replies(std::size_t worker, clock::time_point now) {
  std::size_t taken = 0;
  while (taken < max_receive_batch && receive_message(workers_[worker].requests, frames_)) {
    if (!holds_entries(frames_)) {
      ++taken;
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("dropped a malformed reply of {} frames from worker {}", frames_.size(),
                    worker);
      continue;
    }
    for (std::size_t f = 0; f < frames_.size(); f += frames_per_entry, ++taken)
      take_reply(worker, &frames_[f], now);
  }
  return taken >= max_receive_batch;
}

void zmq_bridge::measure_clock(const ping& p, std::int64_t worker_wall_ms) {
  worker_sockets& w = workers_[p.worker];
  w.clock_apart.observe(p.sent_wall_ms, worker_wall_ms, wall_ms());
  // Deadlines are corrected by it, but the hosts' times in logs and audit trails disagree too.
  const int offset = w.clock_apart.offset_ms();
  if (std::abs(offset) >= clock_warning_ms && !std::exchange(w.clock_warned, true))
    spdlog::warn("worker {}'s clock is {} ms {} this api's: keep the hosts' clocks in sync (NTP)",
                 p.worker, std::abs(offset), offset > 0 ? "ahead of" : "behind");
}

void zmq_bridge::take_reply(std::size_t worker, const zmq::message_t* entry,
                            clock::time_point now) {
  const auto corr = parse_number(entry[0].to_string_view());
  const auto result = parse_outcome(entry[1].to_string_view());
  std::optional<playback_note> note;
  if (!corr || !result || !read_note(entry[3], note)) {
    stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("dropped a malformed reply from worker {}", worker);
    return;
  }
  mark_alive(worker, now);
  if (const auto p = pings_.find(*corr); p != pings_.end()) {
    const std::optional<reply_body> body = decode_reply_body(entry[2].to_string_view());
    if (const auto* reading = body ? std::get_if<clock_reading>(&*body) : nullptr) {
      measure_clock(p->second, reading->wall_ms);
      worker_sockets& w = workers_[worker];
      w.answered_through = reading->position;
      w.answered_ping_sent = p->second.sent_at;
      w.answered_on = p->second.sent_on;
      note_caught_up(w);
    }
    pings_.erase(p);
    return;
  }
  const auto it = pending_.find(*corr);
  if (it == pending_.end()) {
    stats_.late_replies.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::optional<reply_body> body = decode_reply_body(entry[2].to_string_view());
  if (!body) {
    // The caller hears why at once rather than waiting for its timeout.
    stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    finish(it, worker_reply{outcome::internal,
                            error{error_code::internal, "the worker's reply could not be read"}});
    return;
  }
  worker_reply answer{*result, std::move(*body)};
  // Signed as of when the call left, not as the reply came: an end published after the worker
  // replied can be among what this api then missed, and the distrust that a gap or a rejoin
  // heard meanwhile sets must cover this token too (docs/design.md §9).
  if (const auto* grant = note ? std::get_if<playback_grant>(&*note) : nullptr)
    answer.playback = playback_.pass(*grant, it->second.taken_wall_ms);
  finish(it, std::move(answer));
}

bool zmq_bridge::receive_events(worker_sockets& w, clock::time_point now) {
  // After a silence (the link held up, or this api frozen), what waits in the socket may be a
  // backlog whose first message is old, with ends behind it: a black-box probe saw a frozen api
  // serve streams ended seconds before, on the first message it read after it resumed.
  const bool was_silent = now - w.last_heard >= liveness_window;
  std::size_t taken = 0;
  while (taken < max_receive_batch && receive_message(w.events, frames_)) {
    w.last_heard = now;
    if (frames_.size() == 4 && frames_[0].size() == 0) {  // a heartbeat, naming the dataset
      ++taken;
      const auto position = parse_event_position(frames_[2].to_string_view());
      auto lives = parse_worker_lives(frames_[3].to_string_view());
      if (!position || !lives) {
        stats_.malformed.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      note_dataset(w, frames_[1].to_string_view());
      note_position(w, std::move(*position), true);
      w.named_lives = std::move(*lives);
      continue;
    }
    auto position = holds_numbered_entries(frames_)
                        ? parse_event_position(frames_[0].to_string_view())
                        : std::nullopt;
    if (!position) {
      ++taken;
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    note_position(w, std::move(*position), false);
    for (std::size_t f = 1; f < frames_.size(); f += frames_per_entry, ++taken)
      take_event(&frames_[f]);
  }
  if (was_silent && w.last_heard == now) {  // heard again
    w.catching_up = true;
    w.catching_up_since = now;
  }
  note_caught_up(w);
  return taken >= max_receive_batch;
}

void zmq_bridge::note_caught_up(worker_sockets& w) {
  // The ping's heartbeat was published after everything that waited, and before its answer.
  if (w.catching_up && w.heard_through && w.answered_through &&
      w.answered_ping_sent >= w.catching_up_since &&
      w.heard_through->life == w.answered_through->life &&
      w.heard_through->published >= w.answered_through->published)
    w.catching_up = false;
}

void zmq_bridge::forget_what_went_unheard() {
  playback_.distrust_until(wall_ms());
  confirmed_tokens_.clear();
  events_.resync_all();
}

void zmq_bridge::note_position(worker_sockets& w, event_position position, bool heartbeat) {
  const std::optional<event_position> last = std::exchange(w.heard_through, std::move(position));
  const event_position& now = *w.heard_through;
  // Joined (again), or a restarted worker: what was published before this api's SUB joined went
  // unheard, and a crashed worker may have committed decisions it never published
  // (docs/design.md §9).
  if (!last || last->life != now.life) {
    if (last) {
      // Its old life is gone, though the store names it until its mark lapses. The new one may
      // answer calls before it answers a ping, which would name it: until then the life that
      // answers is not known, and the one heard is not held against it (zmq_bridge::heard). A
      // ping the new one answered already names it.
      ended_lives_.insert(last->life);
      if (w.answered_through && w.answered_through->life != now.life) w.answered_through.reset();
      spdlog::info(
          "a worker was restarted: playback tokens signed until now are refused "
          "until renewed, and every WebSocket resyncs");
    }
    forget_what_went_unheard();
    return;
  }
  const std::uint64_t expected = last->published + (heartbeat ? 0 : 1);
  if (now.published == expected) return;
  // Its PUB dropped messages this api's SUB could not take in time, or the SUB reconnected on
  // its own: ends and revocations may have gone unheard. When they were published is unknown,
  // so every token signed until now is distrusted.
  stats_.event_gaps.fetch_add(1, std::memory_order_relaxed);
  spdlog::warn(
      "missed messages of a worker's events (its count is {}, this api expected {}): playback "
      "tokens signed until now are refused until renewed, and every WebSocket resyncs",
      now.published, expected);
  forget_what_went_unheard();
}

void zmq_bridge::take_event(const zmq::message_t* entry) {
  auto mark = parse_sequence_frame(entry[2].to_string_view());
  std::optional<playback_note> note;
  if (!mark || !read_note(entry[3], note)) {
    stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  stats_.events.fetch_add(1, std::memory_order_relaxed);
  const playback_grant* grant = nullptr;
  if (note) {
    if (const auto* end = std::get_if<playback_end>(&*note)) {
      playback_.ended(end->stream_id, wall_ms());
    } else if (const auto* revoked = std::get_if<access_revoked>(&*note)) {
      // docs/design.md §6, revocation: the user's old token must not pass here on a cached
      // confirmation, nor keep a socket it opened; the sockets are closed, not sent the event.
      confirmed_tokens_.forget(revoked->user_id);
      events_.revoke(revoked->user_id);
      return;
    } else {
      grant = &std::get<playback_grant>(*note);
    }
  }
  // Most events have no socket of their user on this api (every api hears every event): none
  // is read, rendered or given a signed token for nobody. publish() would drop it all the same.
  const std::string_view topic = entry[0].to_string_view();
  if (events_.count_of(topic) == 0) return;
  const std::optional<event_body> event = decode_event_body(entry[1].to_string_view());
  if (!event) {
    stats_.malformed.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // Rendered once, for every socket of the user on this api.
  const std::optional<playback_pass> pass =
      grant ? std::optional(playback_.pass(*grant, wall_ms())) : std::nullopt;
  events_.publish(topic, render_event(*event, mark->seq, pass ? &*pass : nullptr),
                  std::move(*mark));
}

void zmq_bridge::note_dataset(worker_sockets& w, std::string_view dataset) {
  if (dataset == w.dataset) return;
  const bool was_foreign = !w.dataset.empty() && !serves_our_dataset(w);
  w.dataset = std::string(dataset);
  if (dataset_.empty()) dataset_ = w.dataset;
  if (!serves_our_dataset(w)) {
    stats_.foreign_dataset.fetch_add(1, std::memory_order_relaxed);
    spdlog::error(
        "a worker serves the dataset '{}', this api serves '{}': it gets no request (two stores "
        "would each grant a user the limit); point every worker at one store, or restart this "
        "api once its store was seeded again",
        w.dataset, dataset_);
  } else if (was_foreign) {
    spdlog::info("a worker serves the dataset '{}' again", dataset_);
  }
}

bool zmq_bridge::receive_disconnections(std::size_t worker) {
  // Each event is two frames (event id and value, then the endpoint); only disconnections are
  // subscribed to, so each one counts.
  while (receive_message(workers_[worker].monitor, frames_)) {
    ++workers_[worker].connection;
    // What comes back may be another host, its clock elsewhere: measured again.
    workers_[worker].clock_apart = {};
    workers_[worker].clock_warned = false;
    spdlog::debug("lost the connection to worker {}", worker);
  }
  return false;  // read to the end
}

}  // namespace streamgate
