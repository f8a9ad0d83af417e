#include "worker/server/outgoing.hpp"

#include <algorithm>
#include <string>

#include "common/messages.hpp"
#include "common/wire/worker_codec.hpp"

namespace streamgate {

namespace {

// dontwait: a ROUTER drops what it cannot route (a gone api), a PUB what a slow api cannot take,
// instead of blocking the worker.
void send_frame(zmq::socket_t& socket, zmq::const_buffer frame, bool last) {
  static_cast<void>(socket.send(frame, last
                                           ? zmq::send_flags::dontwait
                                           : zmq::send_flags::sndmore | zmq::send_flags::dontwait));
}

// The entry at `index` of `count` is the last of its message: of all, or of its share of
// max_entries_per_message.
bool ends_message(std::size_t index, std::size_t count) {
  return index + 1 == count || (index + 1) % max_entries_per_message == 0;
}

}  // namespace

void send_replies(zmq::socket_t& router, const std::vector<reply_address>& to,
                  const std::vector<reply>& answers) {
  const std::size_t n = std::min(to.size(), answers.size());
  std::vector<bool> sent(n, false);
  std::vector<std::size_t> group;
  for (std::size_t first = 0; first < n; ++first) {
    if (sent[first]) continue;
    // Usually one api, at most a few: a scan per api beats hashing the identities.
    group.clear();
    for (std::size_t i = first; i < n; ++i) {
      if (!sent[i] && to[i].identity == to[first].identity) {
        group.push_back(i);
        sent[i] = true;
      }
    }
    const zmq::message_t& identity = to[first].identity;
    for (std::size_t k = 0; k < group.size(); ++k) {
      if (k % max_entries_per_message == 0)
        send_frame(router, zmq::buffer(identity.data(), identity.size()), false);
      const reply_address& address = to[group[k]];
      const reply& answer = answers[group[k]];
      const std::string corr = std::to_string(address.corr);
      const std::string body = encode_reply_body(answer.body);
      send_frame(router, zmq::buffer(corr), false);
      send_frame(router, zmq::buffer(to_string(answer.status)), false);
      send_frame(router, zmq::buffer(body), false);
      send_frame(router, zmq::buffer(answer.playback), ends_message(k, group.size()));
    }
  }
}

void publish_events(zmq::socket_t& pub, const std::vector<published_event>& events,
                    event_position& published) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    const published_event& e = events[i];
    if (i % max_entries_per_message == 0) {
      ++published.published;
      const std::string position = encode_event_position(published);
      send_frame(pub, zmq::buffer(position), false);
    }
    const std::string body = encode_event_body(e.body);
    send_frame(pub, zmq::buffer(e.topic), false);
    send_frame(pub, zmq::buffer(body), false);
    send_frame(pub, zmq::buffer(e.sequence), false);
    send_frame(pub, zmq::buffer(e.playback), ends_message(i, events.size()));
  }
}

}  // namespace streamgate
