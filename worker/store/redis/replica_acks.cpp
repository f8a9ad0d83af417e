#include "worker/store/redis/replica_acks.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "worker/store/store.hpp"

namespace streamgate {

bool redis_command_writes(std::string_view name) {
  // Unknown is a write: a WAIT too many costs a round trip on the server, one too few a commit.
  static constexpr std::array<std::string_view, 17> reads = {
      "CLUSTER", "CONFIG",  "EXISTS", "GET",    "HGET",         "HGETALL",
      "LRANGE",  "MGET",    "MULTI",  "PING",   "ROLE",         "SMEMBERS",
      "TIME",    "UNWATCH", "WATCH",  "ZRANGE", "ZRANGEBYSCORE"};
  return std::none_of(reads.begin(), reads.end(), [&](std::string_view read) {
    return std::equal(read.begin(), read.end(), name.begin(), name.end(), [](char a, char b) {
      return a == std::toupper(static_cast<unsigned char>(b));
    });
  });
}

std::size_t connected_replicas(const redisReply& role) {
  // A master's ROLE: ["master", offset, [[host, port, offset], ...]].
  if (role.type != REDIS_REPLY_ARRAY || reply_size(role) < 3 ||
      reply_string(reply_at(role, 0)) != "master")
    return 0;
  return reply_size(reply_at(role, 2));
}

std::chrono::milliseconds replica_wait_timeout(std::chrono::milliseconds reply_timeout) {
  return std::max(reply_timeout / 2, std::chrono::milliseconds{1});
}

std::vector<std::string> wait_command(std::size_t replicas, std::chrono::milliseconds timeout) {
  return {"WAIT", std::to_string(replicas), std::to_string(timeout.count())};
}

void require_acknowledged(const redis_address& master, const redisReply& wait, std::size_t replicas,
                          std::chrono::milliseconds timeout) {
  if (reply_is_error(wait))
    throw store_unavailable("redis " + to_string(master) +
                            ": WAIT failed: " + std::string(reply_string(wait)));
  const long long acknowledged = reply_integer(wait);
  if (acknowledged < static_cast<long long>(replicas))
    throw store_unavailable(
        "redis " + to_string(master) + ": " + std::to_string(acknowledged) + " of its " +
        std::to_string(replicas) + " replicas acknowledged the writes within " +
        std::to_string(timeout.count()) + " ms; a failover could lose them, so none is told");
}

}  // namespace streamgate
