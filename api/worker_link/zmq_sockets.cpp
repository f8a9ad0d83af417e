#include "api/worker_link/zmq_sockets.hpp"

#include <string_view>

#include "common/link_keys.hpp"
#include "common/messages.hpp"

namespace streamgate {

namespace {

constexpr int requests_hwm = 10'000;
// Events come unasked, up to max_entries_per_message in a message: about 100,000 at most wait
// for a strand that fell behind (the worker's PUB drops beyond it, and the number missing from
// the next message makes this api distrust and resync, zmq_bridge_receive.cpp).
constexpr int events_hwm = static_cast<int>(100'000 / max_entries_per_message);

// CURVE client keys of the worker link (docs/design.md §6), set before connecting so every
// connection does the handshake: a worker that does not know this api's key, or an impostor
// without the worker's secret key, gets no connection at all. No keys: plain.
void use_curve(zmq::socket_t& socket, const api_link_keys& keys) {
  if (keys.secret_key.empty()) return;
  std::array<char, z85_key_length + 1> public_key{};
  if (zmq_curve_public(public_key.data(), keys.secret_key.c_str()) != 0) throw zmq::error_t();
  socket.set(zmq::sockopt::curve_serverkey, keys.worker_public_key);
  socket.set(zmq::sockopt::curve_publickey, std::string_view(public_key.data(), z85_key_length));
  socket.set(zmq::sockopt::curve_secretkey, keys.secret_key);
}

}  // namespace

zmq::socket_t open_dealer(zmq::context_t& context, const std::string& endpoint,
                          const api_link_keys& keys) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  use_curve(socket, keys);
  socket.set(zmq::sockopt::sndhwm, requests_hwm);
  socket.set(zmq::sockopt::rcvhwm, requests_hwm);
  // Refuse to queue for a worker that is not connected: a request sent once (stop, create)
  // must fail now rather than reach a restarted worker after its caller got a 503.
  socket.set(zmq::sockopt::immediate, 1);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 1000);
  // Notices a worker host that vanished without closing its connection.
  socket.set(zmq::sockopt::heartbeat_ivl, 1000);
  socket.set(zmq::sockopt::heartbeat_timeout, 3000);
  socket.connect(endpoint);
  return socket;
}

zmq::socket_t open_monitor(zmq::context_t& context, zmq::socket_t& dealer, std::size_t worker) {
  const std::string endpoint = "inproc://streamgate-worker-monitor-" + std::to_string(worker);
  if (zmq_socket_monitor(dealer.handle(), endpoint.c_str(), ZMQ_EVENT_DISCONNECTED) != 0)
    throw zmq::error_t();
  zmq::socket_t monitor(context, zmq::socket_type::pair);
  monitor.set(zmq::sockopt::linger, 0);
  monitor.connect(endpoint);
  return monitor;
}

zmq::socket_t open_sub(zmq::context_t& context, const std::string& endpoint,
                       const api_link_keys& keys) {
  zmq::socket_t socket(context, zmq::socket_type::sub);
  use_curve(socket, keys);
  socket.set(zmq::sockopt::rcvhwm, events_hwm);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::reconnect_ivl, 100);
  socket.set(zmq::sockopt::reconnect_ivl_max, 1000);
  // Every user: which users have sockets here changes all the time, and the registry filters.
  socket.set(zmq::sockopt::subscribe, "");
  socket.connect(endpoint);
  return socket;
}

}  // namespace streamgate
