#pragma once

// Puts one WebSocket's stream of a user's events in order against the snapshots it is sent
// (the sequence contract is in common/messages.hpp). An event that follows the last one known
// goes out at once. Any other (a gap after a dropped PUB message, a straggler from another
// worker, a new epoch after a worker restart) also goes out, but asks for a fresh snapshot,
// since the socket may have missed something. While a snapshot is being fetched events are held,
// and once it comes they are released around it: those it already reflects before it (a
// verdict a client waits for is never lost), later ones after it, so a client that applies
// messages in order always ends at the worker's state. A socket's first message is its
// snapshot (docs/design.md §4), so what the first snapshot reflects happened before the socket
// and is not sent.
// Single-threaded: the socket calls it on its strand.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streamgate {

struct sequence_mark {
  std::string epoch;
  std::uint64_t seq = 0;
};

// "<epoch> <seq>", the third frame of a published event; nullopt when malformed.
std::optional<sequence_mark> parse_sequence_frame(std::string_view frame);

using message_ptr = std::shared_ptr<const std::string>;

class event_order final {
 public:
  // A snapshot is being fetched (at connect, or when the api asks every socket to resync).
  // Returns false when one already is, so the caller fetches only once.
  bool begin_fetch();
  bool fetching() const { return fetching_; }

  // Appends what to send now to `out`. Returns true when a snapshot must be fetched (and
  // begin_fetch() was done for the caller).
  bool on_event(message_ptr text, sequence_mark mark, std::vector<message_ptr>& out);
  // The fetched snapshot; appends the held events it reflects, the snapshot, then the held
  // events after it. Returns true when yet another snapshot must be fetched.
  bool on_snapshot(message_ptr text, sequence_mark mark, std::vector<message_ptr>& out);
  // No snapshot came: the held events go out as they arrived, and the next event asks again.
  void give_up(std::vector<message_ptr>& out);

  std::size_t held() const { return held_.size(); }

 private:
  struct held_event {
    message_ptr text;
    sequence_mark mark;
  };

  std::optional<sequence_mark> last_;  // none until the first snapshot
  bool fetching_ = false;
  bool sent_snapshot_ = false;
  std::vector<held_event> held_;
};

}  // namespace streamgate
