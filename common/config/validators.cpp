#include "common/config/validators.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <system_error>

namespace streamgate::config_detail {

namespace {

bool parse_port(std::string_view text, unsigned short& port) {
  unsigned number = 0;
  const char* end = text.data() + text.size();
  const auto [stop, code] = std::from_chars(text.data(), end, number);
  if (code != std::errc{} || stop != end || number < 1 || number > 65535) return false;
  port = static_cast<unsigned short>(number);
  return true;
}

// "host:port"; an IPv6 host is written in brackets ("[::1]:8080") and returned without them.
bool parse_host_port(std::string_view text, std::string& host, unsigned short& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host_part = text.substr(0, colon);
  if (host_part.size() >= 2 && host_part.front() == '[' && host_part.back() == ']')
    host_part = host_part.substr(1, host_part.size() - 2);
  if (host_part.empty() || !parse_port(text.substr(colon + 1), port)) return false;
  host = host_part;
  return true;
}

}  // namespace

// tcp://HOST:PORT or ipc://PATH, the transports another process reaches (not inproc://). A port
// of its own: 0 or `*` would bind one no api is told of, and libzmq takes a port past 65535 modulo
// 65536 while its log names the one given (a black-box probe bound 34463 for 99999).
bool is_endpoint(std::string_view text) {
  constexpr std::string_view tcp = "tcp://";
  constexpr std::string_view ipc = "ipc://";
  if (text.starts_with(ipc)) return text.size() > ipc.size();
  std::string host;
  unsigned short port = 0;
  return text.starts_with(tcp) && parse_host_port(text.substr(tcp.size()), host, port);
}

bool is_non_empty(std::string_view text) { return !text.empty(); }

bool is_store(std::string_view text) {
  constexpr std::string_view sqlite = "sqlite:";
  constexpr std::string_view redis = "redis://";
  if (text.starts_with(sqlite)) return text.size() > sqlite.size();
  if (!text.starts_with(redis)) return false;
  // One or more nodes of a server or a Redis Cluster, comma-separated.
  text.remove_prefix(redis.size());
  for (;;) {
    const auto comma = text.find(',');
    std::string host;
    unsigned short port = 0;
    if (!parse_host_port(text.substr(0, comma), host, port)) return false;
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

// Other names than localhost are not resolved: binding must not depend on DNS, nor pick one of a
// name's addresses by chance.
bool parse_listen_address(std::string_view text, std::string& host, unsigned short& port) {
  if (!parse_host_port(text, host, port)) return false;
  if (host == "localhost") {
    host = "127.0.0.1";
    return true;
  }
  in6_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

bool is_origin(std::string_view text) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (!text.starts_with(scheme)) continue;
    const std::string_view authority = text.substr(scheme.size());
    return !authority.empty() && authority.find_first_of("/?#@ \t") == std::string_view::npos;
  }
  return false;
}

bool is_admin_token(std::string_view text) {
  constexpr std::size_t min_length = 16;
  constexpr std::size_t max_length = 256;
  const auto allowed = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
  };
  return text.size() >= min_length && text.size() <= max_length &&
         std::all_of(text.begin(), text.end(), allowed);
}

bool is_playback_key_hex(std::string_view text) {
  const bool hex_digits = std::all_of(text.begin(), text.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
  });
  return text.size() >= 64 && text.size() <= 1024 && text.size() % 2 == 0 && hex_digits;
}

}  // namespace streamgate::config_detail
