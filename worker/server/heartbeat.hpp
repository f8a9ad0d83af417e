#pragma once

#include <string>
#include <string_view>
#include <zmq.hpp>

#include "common/messages.hpp"

namespace streamgate {

// Answers an api's ping on the event socket too, as [""] [<dataset id>] [<position>] [<lives>]
// (no user has an empty id). A SUB joins asynchronously and misses whatever is published before it
// did, so an api counts a worker as serving only once it hears these: it never relies on a worker
// whose events it cannot hear yet (common/messages.hpp). The dataset id lets an api route only
// among workers of one dataset: two workers on different stores would each grant a user the limit.
// The position (the worker's life, the messages of events it published) tells an api that heard
// fewer of them, or another life, that it missed some; the lives are those the store names alive
// (encode_worker_lives), so an api that does not hear one of them knows it may miss its ends
// (docs/design.md §9).
inline void publish_heartbeat(zmq::socket_t& events, std::string_view dataset_id,
                              const event_position& published, std::string_view lives) {
  const std::string position = encode_event_position(published);
  static_cast<void>(events.send(zmq::const_buffer{}, zmq::send_flags::sndmore |
                                                         zmq::send_flags::dontwait));
  static_cast<void>(
      events.send(zmq::buffer(dataset_id), zmq::send_flags::sndmore | zmq::send_flags::dontwait));
  static_cast<void>(
      events.send(zmq::buffer(position), zmq::send_flags::sndmore | zmq::send_flags::dontwait));
  static_cast<void>(events.send(zmq::buffer(lives), zmq::send_flags::dontwait));
}

}  // namespace streamgate
