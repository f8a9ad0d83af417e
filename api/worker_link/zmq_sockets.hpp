#pragma once

// The api's ZeroMQ sockets to one worker, opened with the options the link relies on, and the
// reading of one whole message from any of them (docs/design.md §1).

#include <cerrno>
#include <cstddef>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/config.hpp"

namespace streamgate {

// A DEALER to a worker's requests endpoint. With `keys`, a CURVE client of the worker
// (docs/design.md §6).
zmq::socket_t open_dealer(zmq::context_t& context, const std::string& endpoint,
                          const api_link_keys& keys);

// A PAIR that receives the DEALER's disconnections: a request sent on a connection that dropped
// may be lost and is worth resending; one on a live connection is not.
zmq::socket_t open_monitor(zmq::context_t& context, zmq::socket_t& dealer, std::size_t worker);

// A SUB to a worker's events endpoint, subscribed to every user.
zmq::socket_t open_sub(zmq::context_t& context, const std::string& endpoint,
                       const api_link_keys& keys);

// Makes a ZeroMQ call again when a signal interrupted it. The link runs on the io threads, which
// also take SIGTERM and SIGINT (asio::signal_set): a signal landing in libzmq's own poll is an
// EINTR, which cppzmq throws, and which would otherwise end the api. An interrupted call has
// done nothing yet (libzmq checks its commands before it queues or takes a message).
template <class Call>
auto again_if_interrupted(Call&& call) -> decltype(call()) {
  for (;;) {
    try {
      return call();
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) throw;
    }
  }
}

// Reads one whole multipart message into `frames` (emptied first); false when none is waiting.
// A worker sends a batch's replies, and its events, as one message of many parts.
inline bool receive_message(zmq::socket_t& socket, std::vector<zmq::message_t>& frames) {
  frames.clear();
  zmq::message_t part;
  if (!again_if_interrupted([&] { return socket.recv(part, zmq::recv_flags::dontwait); }))
    return false;
  for (;;) {
    const bool more = part.more();
    frames.push_back(std::move(part));
    if (!more) return true;
    // The rest of a message arrives with its first part, so this never waits.
    static_cast<void>(again_if_interrupted([&] { return socket.recv(part); }));
  }
}

}  // namespace streamgate
