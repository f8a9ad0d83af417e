#pragma once

#include <zmq.hpp>

namespace streamgate {

// Answers an api's ping on the event socket too, as two empty frames (no user has an empty id).
// A SUB joins asynchronously and misses whatever is published before it did, so an api counts a
// worker as serving only once it hears these: it never relies on a worker whose events it
// cannot hear yet (common/messages.hpp).
inline void publish_heartbeat(zmq::socket_t& events) {
  static_cast<void>(events.send(zmq::const_buffer{}, zmq::send_flags::sndmore |
                                                         zmq::send_flags::dontwait));
  static_cast<void>(events.send(zmq::const_buffer{}, zmq::send_flags::dontwait));
}

}  // namespace streamgate
