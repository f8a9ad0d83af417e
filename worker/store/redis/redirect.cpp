#include "worker/store/redis/redirect.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <string>
#include <string_view>

#include "worker/store/redis/slots.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

std::optional<redis_redirect> parse_redirect(const redisReply& reply,
                                             const redis_address& answered_by) {
  if (reply.type != REDIS_REPLY_ERROR) return std::nullopt;
  std::string_view text(reply.str, reply.len);
  redis_redirect r;
  if (text.starts_with("MOVED ")) {
    text.remove_prefix(6);
  } else if (text.starts_with("ASK ")) {
    r.ask = true;
    text.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const auto space = text.find(' ');
  const auto colon = text.rfind(':');
  if (space == std::string_view::npos || colon == std::string_view::npos || colon < space)
    throw store_unavailable("redis: unreadable redirection: " + std::string(reply.str, reply.len));
  const auto [slot_end, slot_ec] = std::from_chars(text.data(), text.data() + space, r.slot);
  const std::string_view port = text.substr(colon + 1);
  const auto [port_end, port_ec] =
      std::from_chars(port.data(), port.data() + port.size(), r.address.port);
  if (slot_ec != std::errc{} || slot_end != text.data() + space || r.slot >= redis_slot_count ||
      port_ec != std::errc{} || port_end != port.data() + port.size())
    throw store_unavailable("redis: unreadable redirection: " + std::string(reply.str, reply.len));
  r.address.host = std::string(text.substr(space + 1, colon - space - 1));
  if (r.address.host.empty()) r.address.host = answered_by.host;
  return r;
}

}  // namespace streamgate
