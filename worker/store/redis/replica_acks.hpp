#pragma once

// Writes acknowledged only once every replica of their master holds them (docs/design.md §8, "A
// Redis that keeps what it acknowledges"). Redis replicates asynchronously: a master that dies
// right after it answered a commit may fail over to a replica that never got it, and the
// allowed streams and remembered requests it held are gone. So after each pipeline that writes,
// the router asks the master to WAIT for the replicas it had connected (ROLE, read on each new
// connection to a master and at every check of the masters); fewer in time fail the call as a
// lost connection does: the batch is answered 503, and whatever the master applied is found
// again by the requests' ids.

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "worker/store/redis/connection.hpp"

namespace streamgate {

// Whether a command may write, by its name: any that is not a read the store is known to make.
bool redis_command_writes(std::string_view name);

// How many replicas a ROLE reply names connected to the master that gave it; none when the node
// is not a master.
std::size_t connected_replicas(const redisReply& role);

// WAIT's timeout: half the router's reply timeout, so that a replica that does not acknowledge
// is told from a master that does not answer.
std::chrono::milliseconds replica_wait_timeout(std::chrono::milliseconds reply_timeout);

// WAIT for `replicas` within `timeout`.
std::vector<std::string> wait_command(std::size_t replicas, std::chrono::milliseconds timeout);

// Throws store_unavailable unless WAIT's reply counts at least `replicas`.
void require_acknowledged(const redis_address& master, const redisReply& wait, std::size_t replicas,
                          std::chrono::milliseconds timeout);

}  // namespace streamgate
