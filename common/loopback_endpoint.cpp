#include "common/loopback_endpoint.hpp"

#include <charconv>

namespace streamgate {

namespace {

// 127.a.b.c written as four decimal numbers: ZeroMQ binds an address or an interface, and
// "127.0.0.1.example" must not pass for the loopback network.
bool is_ipv4_loopback(std::string_view host) {
  if (!host.starts_with("127.")) return false;
  int parts = 0;
  for (std::size_t start = 0;;) {
    const std::size_t dot = host.find('.', start);
    const std::string_view part = host.substr(start, dot - start);
    unsigned value = 256;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || ec != std::errc{} || end != part.data() + part.size() || value > 255)
      return false;
    ++parts;
    if (dot == std::string_view::npos) return parts == 4;
    start = dot + 1;
  }
}

}  // namespace

bool is_loopback_endpoint(std::string_view endpoint) {
  if (endpoint.starts_with("ipc://") || endpoint.starts_with("inproc://")) return true;
  constexpr std::string_view tcp = "tcp://";
  if (!endpoint.starts_with(tcp)) return false;
  const std::string_view address = endpoint.substr(tcp.size());
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view host = address.substr(0, colon);
  return host == "[::1]" || host == "localhost" || is_ipv4_loopback(host);
}

}  // namespace streamgate
