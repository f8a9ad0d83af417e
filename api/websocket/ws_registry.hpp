#pragma once

// Which WebSockets of this api belong to which user, so a user's events reach only that user's
// sockets (docs/design.md §4). Written by sessions (connect, disconnect) and read by the worker
// link's strand (every event), on any of the io threads, hence the mutex; it is held only to
// copy the few weak pointers.

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/websocket/event_order.hpp"

namespace streamgate {

// One published event of a user: the message for the clients and its place in the user's
// sequence (common/messages.hpp).
struct user_event {
  std::string text;
  sequence_mark mark;
};

// A live WebSocket as the registry sees it. Both calls are safe from any thread: the socket
// hops onto its own strand.
class event_sink {
 public:
  virtual void deliver(std::shared_ptr<const user_event> event) = 0;
  virtual void notify(std::shared_ptr<const std::string> message) = 0;
  // The socket may have missed events (its worker reconnected): it fetches a fresh snapshot.
  virtual void resync() = 0;
  virtual void shut_down() = 0;

 protected:
  ~event_sink() = default;
};

class ws_registry final {
 public:
  void add(const std::string& user_id, const std::shared_ptr<event_sink>& sink);
  void remove(const std::string& user_id, const event_sink* sink);

  // Hands `event` to every socket of the user; the shared copy is made only when there is one.
  void publish(std::string_view user_id, std::string event, sequence_mark mark);

  // A message of this api's own for the user's sockets, outside the worker's event sequence.
  void notify(std::string_view user_id, std::string message);
  // After a worker reconnected: every socket fetches a fresh snapshot.
  void resync_all();
  // The user's token was replaced or the user deleted: its sockets close (docs/design.md §6).
  void revoke(std::string_view user_id);
  // On shutdown: asks every socket to close.
  void shut_down_all();

  std::size_t size() const;
  // Users with an open socket: a user whose last socket closed is forgotten, so the registry is
  // bounded by the open sockets and not by every user that ever opened one.
  std::size_t users() const;
  // The open sockets of one user (the per-user cap, --max-websockets-per-user).
  std::size_t count_of(std::string_view user_id) const;

 private:
  struct entry {
    const event_sink* key;  // identifies the entry after the sink is gone
    std::weak_ptr<event_sink> sink;
  };
  struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  std::vector<std::shared_ptr<event_sink>> sinks_of(std::string_view user_id) const;
  std::vector<std::shared_ptr<event_sink>> all_sinks() const;

  mutable std::mutex mutex_;
  std::unordered_map<std::string, std::vector<entry>, string_hash, std::equal_to<>> users_;
};

}  // namespace streamgate
