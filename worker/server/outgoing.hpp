#pragma once

// What the worker sends after a batch is committed (common/messages.hpp has the frames): each
// api's replies as one message, and all the batch's events as one (or as several of
// max_entries_per_message each). libzmq hands a message to its
// I/O thread when its last frame is sent, and wakes that thread (a write on its mailbox) when the
// thread was idle; sent one by one, nearly every reply and event of a batch woke it again, a
// syscall on this thread and a wake-up on that one each (docs/design.md §10).

#include <cstdint>
#include <vector>
#include <zmq.hpp>

#include "common/messages.hpp"
#include "worker/server/decider.hpp"

namespace streamgate {

// Whom a reply goes to: the api's ROUTER identity and the call's correlation id.
struct reply_address {
  zmq::message_t identity;
  std::uint64_t corr = 0;
};

// Replies answers[i] to to[i]; one message per api, its replies in the batch's order.
void send_replies(zmq::socket_t& router, const std::vector<reply_address>& to,
                  const std::vector<reply>& answers);

// Publishes the events, in order, as one message; nothing when there are none. Each message
// begins with its position: `published` counted one further. A PUB drops what a slow
// subscriber cannot take without telling it, so an api learns of a drop from a missing number
// (common/messages.hpp).
void publish_events(zmq::socket_t& pub, const std::vector<published_event>& events,
                    event_position& published);

}  // namespace streamgate
