#include "worker/server/zap_handler.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <zmq_addon.hpp>

namespace streamgate {

namespace {

// Fixed by libzmq: the one endpoint it asks.
constexpr const char* zap_endpoint = "inproc://zeromq.zap.01";
// How long the thread waits for a handshake before it looks at its stop token again.
constexpr std::chrono::milliseconds stop_check_interval{100};
// A peer retrying a refused handshake reconnects every few hundred ms: one line a second says
// enough, with the count of the others.
constexpr std::chrono::seconds refusal_log_interval{1};

// ZAP request frames (RFC 27): version, request id, domain, address, identity, mechanism, then
// the mechanism's credentials: for CURVE the client's 32-byte public key.
constexpr std::size_t request_frames = 7;
constexpr std::size_t frame_request_id = 1;
constexpr std::size_t frame_address = 3;
constexpr std::size_t frame_mechanism = 5;
constexpr std::size_t frame_client_key = 6;

}  // namespace

zap_handler::zap_handler(zmq::context_t& context, const std::vector<std::string>& allowed_clients)
    : socket_(context, zmq::socket_type::rep) {
  for (const std::string& z85 : allowed_clients) {
    public_key key{};
    if (zmq_z85_decode(key.data(), z85.c_str()) == nullptr)
      throw std::invalid_argument("an allowed CURVE client key is not Z85 text");
    allowed_.insert(key);
  }
  socket_.set(zmq::sockopt::linger, 0);
  try {
    socket_.bind(zap_endpoint);
  } catch (const zmq::error_t& e) {
    throw std::runtime_error(std::string("cannot bind the ZAP handler: ") + e.what());
  }
  thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
}

void zap_handler::run(const std::stop_token& stop) {
  zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
  while (!stop.stop_requested()) {
    try {
      zmq::poll(&item, 1, stop_check_interval);
      if ((item.revents & ZMQ_POLLIN) != 0) answer_one();
    } catch (const zmq::error_t& e) {
      if (e.num() == ETERM) return;
      spdlog::error("ZAP handler: {}", e.what());
    }
  }
}

void zap_handler::answer_one() {
  std::vector<zmq::message_t> request;
  if (!zmq::recv_multipart(socket_, std::back_inserter(request))) return;
  bool allowed = false;
  std::string address;
  if (request.size() == request_frames && request[frame_mechanism].to_string_view() == "CURVE" &&
      request[frame_client_key].size() == std::tuple_size_v<public_key>) {
    public_key key{};
    const auto* bytes = request[frame_client_key].data<std::uint8_t>();
    std::copy(bytes, bytes + key.size(), key.begin());
    allowed = allowed_.count(key) != 0;
    address = request[frame_address].to_string();
  }
  const std::string_view request_id =
      request.size() > frame_request_id ? request[frame_request_id].to_string_view() : "";
  // Reply (RFC 27): version, request id, status code, status text, user id, metadata.
  const std::array<zmq::const_buffer, 6> reply{
      zmq::str_buffer("1.0"),
      zmq::buffer(request_id),
      allowed ? zmq::str_buffer("200") : zmq::str_buffer("400"),
      allowed ? zmq::str_buffer("OK") : zmq::str_buffer("client key not allowed"),
      zmq::str_buffer(""),
      zmq::str_buffer("")};
  zmq::send_multipart(socket_, reply);
  if (allowed) return;
  ++refused_unlogged_;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_log_) return;
  spdlog::warn("worker link: refused a client whose CURVE key is not allowed, from {} ({} refused "
               "since the last such line)",
               address.empty() ? "an unknown address" : address, refused_unlogged_);
  refused_unlogged_ = 0;
  next_log_ = now + refusal_log_interval;
}

}  // namespace streamgate
