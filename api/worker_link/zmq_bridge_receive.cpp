// The worker link's reading side (api/worker_link/zmq_bridge.hpp): replies to the callers
// waiting for them, events to the WebSockets, heartbeats and disconnections to the liveness of
// each worker.

#include <spdlog/spdlog.h>

#include <array>
#include <charconv>
#include <string>
#include <utility>

#include "api/views/views.hpp"
#include "api/worker_link/zmq_bridge.hpp"
#include "api/worker_link/zmq_sockets.hpp"
#include "common/codec.hpp"
#include "common/wire/worker_codec.hpp"

namespace streamgate {

namespace {

// Messages taken from one socket per wake-up; the next batch waits its turn behind what this one
// queued. The io threads that read them also write every WebSocket, and a turn of a WebSocket's
// writer sends up to 64 KiB (api/websocket/websocket_session): a batch of events no larger than
// that keeps a socket that reads from falling behind while a worker publishes a burst.
constexpr int max_receive_batch = 64;

std::optional<std::uint64_t> parse_corr(std::string_view text) {
  std::uint64_t corr = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), corr);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return corr;
}

}  // namespace

bool zmq_bridge::receive_replies(std::size_t worker, clock::time_point now) {
  std::array<zmq::message_t, 4> frames;
  std::size_t count = 0;
  int n = 0;
  for (; n < max_receive_batch && receive_message(workers_[worker].requests, frames, count); ++n) {
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
    std::optional<reply_body> body = decode_reply_body(frames[2].to_string_view());
    if (!body) {
      // The caller hears why at once rather than waiting for its timeout.
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      finish(it, worker_reply{outcome::internal,
                              error{error_code::internal, "the worker's reply could not be read"}});
      continue;
    }
    worker_reply answer{*result, std::move(*body)};
    if (const auto* grant = note ? std::get_if<playback_grant>(&*note) : nullptr)
      answer.playback = playback_.pass(*grant, wall_ms());
    finish(it, std::move(answer));
  }
  return n == max_receive_batch;
}

bool zmq_bridge::receive_events(worker_sockets& w, clock::time_point now) {
  std::array<zmq::message_t, 4> frames;
  std::size_t count = 0;
  int n = 0;
  for (; n < max_receive_batch && receive_message(w.events, frames, count); ++n) {
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
    const playback_grant* grant = nullptr;
    if (note) {
      if (const auto* end = std::get_if<playback_end>(&*note)) {
        playback_.ended(end->stream_id, wall_ms());
      } else if (const auto* revoked = std::get_if<access_revoked>(&*note)) {
        // docs/design.md §6, revocation: the user's old token must not pass here on a cached
        // confirmation, nor keep a socket it opened; the sockets are closed, not sent the event.
        confirmed_tokens_.forget(revoked->user_id);
        events_.revoke(revoked->user_id);
        continue;
      } else {
        grant = &std::get<playback_grant>(*note);
      }
    }
    // Most events have no socket of their user on this api (every api hears every event): none
    // is read, rendered or given a signed token for nobody. publish() would drop it all the same.
    if (events_.count_of(frames[0].to_string_view()) == 0) continue;
    const std::optional<event_body> event = decode_event_body(frames[1].to_string_view());
    if (!event) {
      stats_.malformed.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    // Rendered once, for every socket of the user on this api.
    const std::optional<playback_pass> pass =
        grant ? std::optional(playback_.pass(*grant, wall_ms())) : std::nullopt;
    events_.publish(frames[0].to_string_view(), render_event(*event, mark->seq, pass ? &*pass : nullptr),
                    std::move(*mark));
  }
  return n == max_receive_batch;
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

bool zmq_bridge::receive_disconnections(std::size_t worker) {
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
  return false;  // read to the end
}

}  // namespace streamgate
