#include "worker/server/outgoing.hpp"

#include <algorithm>
#include <string>

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
    send_frame(router, zmq::buffer(to[first].identity.data(), to[first].identity.size()), false);
    for (std::size_t k = 0; k < group.size(); ++k) {
      const reply_address& address = to[group[k]];
      const reply& answer = answers[group[k]];
      const std::string corr = std::to_string(address.corr);
      const std::string body = encode_reply_body(answer.body);
      send_frame(router, zmq::buffer(corr), false);
      send_frame(router, zmq::buffer(to_string(answer.status)), false);
      send_frame(router, zmq::buffer(body), false);
      send_frame(router, zmq::buffer(answer.playback), k + 1 == group.size());
    }
  }
}

void publish_events(zmq::socket_t& pub, const std::vector<published_event>& events) {
  for (std::size_t i = 0; i < events.size(); ++i) {
    const published_event& e = events[i];
    const std::string body = encode_event_body(e.body);
    send_frame(pub, zmq::buffer(e.topic), false);
    send_frame(pub, zmq::buffer(body), false);
    send_frame(pub, zmq::buffer(e.sequence), false);
    send_frame(pub, zmq::buffer(e.playback), i + 1 == events.size());
  }
}

}  // namespace streamgate
