#pragma once

// The inside of redis_router (router.hpp), shared by its two parts: router.cpp (the connection
// pool, the slot map, the nodes left alone after failing) and router_pipeline.cpp (one pipelined
// call over the nodes, with its redirections and failures). Internal to the router.

#include <array>
#include <chrono>
#include <cstddef>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "worker/store/redis/node_rests.hpp"
#include "worker/store/redis/replica_acks.hpp"
#include "worker/store/redis/router.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

namespace router_detail {

inline constexpr std::size_t no_node = std::numeric_limits<std::size_t>::max();

using steady = std::chrono::steady_clock;

// One node failed, not the router: its commands fail (or, for run(), the call), but the other
// nodes' connections are sound and the map is only read again, not the whole router rebuilt.
class node_unreachable final : public store_unavailable {
 public:
  using store_unavailable::store_unavailable;
};

inline std::vector<std::string_view> views(const std::vector<std::string>& args) {
  return {args.begin(), args.end()};
}

}  // namespace router_detail

// Connections are pooled by address and the pool only grows until the next full reconnect, so a
// node's index stays valid while a batch follows redirections and the slot map is reread.
struct redis_router::impl {
  using steady = router_detail::steady;
  using node_unreachable = router_detail::node_unreachable;

  struct node {
    redis_address address;
    std::unique_ptr<redis_client> client;  // null until a command needs this node
    std::size_t replicas = 0;  // connected to it when last asked: each write waits for them
  };

  std::vector<redis_address> seeds;
  std::chrono::milliseconds timeout;
  std::chrono::milliseconds replica_wait;  // WAIT's
  redis_node_check check;
  bool cluster = false;
  // Set by a connection that broke, and by a call that failed otherwise than by one node (a
  // refused master, a map that cannot be read): the next call drops every connection and
  // rereads the map (nodes left alone are not asked).
  bool stale = true;
  // Set when a node failed: the next call reads the map again from a master that answers.
  bool map_stale = false;
  node_rests rests;  // by address, kept across reconnects
  std::vector<node> nodes;
  std::vector<std::size_t> masters;         // indexes into nodes, in map order
  std::vector<redis_address> last_masters;  // of the last map read, kept across reconnects
  std::array<std::size_t, redis_slot_count> owner{};  // slot -> index into nodes, or no_node

  impl(std::vector<redis_address> s, std::chrono::milliseconds t, redis_node_check c)
      : seeds(std::move(s)),
        timeout(t),
        replica_wait(replica_wait_timeout(t)),
        check(std::move(c)) {}

  std::size_t node_index(const redis_address& address);

  // Left alone for a while after failing since `since` (node_rests.hpp); the map is read again.
  void rest_address(const redis_address& address, steady::time_point since,
                    const std::string& reason);

  // A node whose connection failed since `since`: dropped with whatever it still owed, and the
  // router made anew at the next call. A quick failure (a connection reset: a restart, most
  // likely) only that; a slow one (the node or its replica hangs) leaves the node alone too.
  void drop_node(std::size_t i, steady::time_point since, const std::string& reason);

  // A new connection is judged before anything else is sent on it, and kept only when it passes.
  // Throws node_unreachable for a node left alone or one that fails now.
  redis_client& client(std::size_t i);

  void judge(const redis_address& master, redis_client& c);

  bool is_master(std::size_t i) const;

  void connect();

  // CLUSTER SLOTS: [[first, last, [host, port, id, ...] (the master), replicas...], ...].
  // A reply that cannot be read throws half-way, which leaves the router stale: the next call
  // rereads the whole map anyway.
  void read_map(std::size_t source, const redisReply& slots);

  std::size_t route(const std::string& key) const;

  // After a node failed: the map from the first master that answers. None answering leaves the
  // map as it is (commands for a node left alone fail at once) until the next call.
  void refresh_map();

  template <class Work>
  auto guarded(Work&& work) {
    try {
      if (stale) connect();
      if (map_stale) refresh_map();
      return work();
    } catch (const node_unreachable&) {
      throw;  // that node is dropped or left alone already (router.cpp, drop_node)
    } catch (...) {
      stale = true;
      throw;
    }
  }

  // Null replies for the masters that cannot be reached; throws when none answers.
  std::vector<redis_reply_ptr> on_every_master(const std::vector<std::string>& args);

  // Null replies for the commands of a node that failed when `where_reachable`; else that
  // throws node_unreachable (once every other node's replies are read, so their connections stay
  // sound).
  std::vector<redis_reply_ptr> run(const std::vector<redis_command>& commands,
                                   bool where_reachable);
};

}  // namespace streamgate
