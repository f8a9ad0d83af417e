#pragma once

// Reading a Redis Cluster's redirection of a command (redis_router follows them).

#include <cstdint>
#include <optional>

#include "worker/store/redis/connection.hpp"

namespace streamgate {

struct redis_redirect {
  bool ask = false;  // ASK: once, to that node; MOVED: the slot's new owner
  std::uint16_t slot = 0;
  redis_address address;
};

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"; nullopt for any other reply. Redis 7
// writes an empty host (":6381") when the node's endpoint is unknown, meaning the host of the
// node that answered. Throws store_unavailable for a redirection it cannot read.
std::optional<redis_redirect> parse_redirect(const redisReply& reply,
                                             const redis_address& answered_by);

}  // namespace streamgate
