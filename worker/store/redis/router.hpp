#pragma once

// Sends Redis commands to the node that owns their key: a plain Redis server (every command to
// it) or a Redis Cluster, discovered from any of the nodes given (docs/design.md, "Stores").
// Debian 12 has no cluster client for C++ (hiredis 0.14 only), so this is ours and small:
// CLUSTER SLOTS gives the slot map; a batch is one pipeline per node; a MOVED reply refreshes the
// map and resends that command to its new owner, an ASK reply resends it once to the node named,
// preceded by ASKING. Writes count as done once every replica of their master has them.
//
// A node that fails fails only what was sent to it. When its connection broke, every connection
// is made anew at the next call (nodes restarted together are found at once) and the slot map
// read again from a node that answers, which learns of a failover when the cluster does. A
// node that cannot be connected to, or that took half the reply timeout to fail (it or a replica
// hangs), is also left alone for a while: twice as long as the failure took and at least a
// second, so that a node that hangs costs the batches at most a third of their time. Meanwhile
// commands for it fail at once. A Cluster's masters thus fail apart: one master down costs only
// its own users (docs/design.md §8, "A Cluster master down").

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worker/store/redis/connection.hpp"
#include "worker/store/redis/slots.hpp"

namespace streamgate {

// "redis://HOST:PORT[,HOST:PORT...]"; nullopt for anything else.
std::optional<std::vector<redis_address>> parse_redis_urls(std::string_view url);

struct redis_command {
  std::string key;  // routes the command; empty: any node (e.g. TIME)
  std::vector<std::string> args;
};

// What every master must pass before the router sends it anything else: `command` runs on each
// new connection to a master (the first one included) and, at check_masters(), on all of them;
// `judge` reads a master's reply and throws to refuse it. A refusal leaves the router stale, so
// its next call connects and asks again. No judge: no check.
struct redis_node_check {
  std::vector<std::string> command;
  std::function<void(const redis_address& master, const redisReply& reply)> judge;
};

class redis_router final {
 public:
  // Connects to the first seed that answers and asks it whether it runs as a cluster; throws
  // store_unavailable when none answers, and what `check` throws when it refuses a master.
  redis_router(std::vector<redis_address> seeds, std::chrono::milliseconds timeout,
               redis_node_check check = {});
  ~redis_router();
  redis_router(const redis_router&) = delete;
  redis_router& operator=(const redis_router&) = delete;

  bool cluster() const;
  // Runs the commands (pipelined, one round trip per node involved) and returns their replies
  // in the order given. An error reply of Redis (other than MOVED/ASK, which are followed up to a
  // few times) is a reply. A node's commands that write are followed by a WAIT for its replicas
  // (replica_acks.hpp). Throws store_unavailable when a node cannot be reached or its replicas
  // do not acknowledge in time; the router then reconnects (and rereads the slot map) on the
  // next call.
  std::vector<redis_reply_ptr> run(const std::vector<redis_command>& commands);
  // As run(), but a node that cannot be reached fails only the commands sent to it: their replies
  // are null (what they did is unknown), the others' come back as run() gives them.
  std::vector<redis_reply_ptr> run_where_reachable(const std::vector<redis_command>& commands);
  // The same command on every master, e.g. SCRIPT LOAD (replies in node order): all sent before
  // any reply is read, so one round trip. A master that cannot be reached is left out (a null
  // reply); throws store_unavailable when none answers.
  std::vector<redis_reply_ptr> run_on_every_node(const std::vector<std::string>& args);
  // The check's command on every master at once, each reply judged (a setting changed on a node
  // since it was connected to); and each master's replicas counted again. A master that cannot
  // be reached now is judged when it is connected to again.
  void check_masters();
  // The lowest slot each master of a Cluster owns, in the map's order, with its address (a key
  // tagged with that slot's tag lives on it); none on a single server.
  std::vector<std::pair<std::uint16_t, redis_address>> first_slot_of_each_master();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace streamgate
