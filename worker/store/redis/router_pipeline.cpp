// One pipelined call of redis_router over the nodes its commands need (router.hpp): every
// node's pipeline sent before any reply is read, MOVED and ASK followed, and a node that fails
// failing only its own commands.

#include <hiredis/hiredis.h>

#include <optional>
#include <string>
#include <utility>

#include "worker/store/redis/redirect.hpp"
#include "worker/store/redis/router_impl.hpp"

namespace streamgate {

namespace {

// More redirections than this for one command means the cluster is being reconfigured faster
// than we follow it: better a 503 and a retry than a batch that never ends.
constexpr int max_redirections = 5;

}  // namespace

using router_detail::node_unreachable;
using router_detail::views;

std::vector<redis_reply_ptr> redis_router::impl::run(const std::vector<redis_command>& commands,
                                                     bool where_reachable) {
  struct pending {
    std::size_t command;
    std::size_t node;
    bool asking;
  };
  std::vector<redis_reply_ptr> replies(commands.size());
  std::vector<pending> todo;
  todo.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i)
    todo.push_back({i, route(commands[i].key), false});

  std::optional<std::string> failure;
  for (int round = 0; !todo.empty(); ++round) {
    if (round > max_redirections)
      throw store_unavailable(
          "redis: still redirected after " + std::to_string(max_redirections) +
          " tries: " + std::string(reply_string(*replies[todo.back().command])));
    std::vector<std::vector<const pending*>> by_node(nodes.size());
    std::vector<bool> waits(nodes.size(), false);  // for its replicas, after what it wrote
    std::vector<bool> failed(nodes.size(), false);
    for (const pending& p : todo) by_node[p.node].push_back(&p);
    std::vector<pending> next;
    std::optional<std::size_t> moved_to;
    const auto since = steady::now();
    const auto fail = [&](std::size_t n, const store_unavailable& e) {
      if (!dynamic_cast<const node_unreachable*>(&e)) drop_node(n, since, e.what());
      failed[n] = true;
      failure = e.what();
    };
    // Every node's pipeline is sent before any reply is read: the nodes work (and sync their
    // AOF) at once, and a batch over three masters waits one round trip, not three.
    for (std::size_t n = 0; n < by_node.size(); ++n) {
      if (by_node[n].empty()) continue;
      try {
        redis_client& c = client(n);
        for (const pending* p : by_node[n]) {
          if (p->asking) c.append({"ASKING"});
          c.append(views(commands[p->command].args));
          waits[n] = waits[n] || (nodes[n].replicas > 0 &&
                                  redis_command_writes(commands[p->command].args.front()));
        }
        if (waits[n]) c.append(views(wait_command(nodes[n].replicas, replica_wait)));
        c.flush();
      } catch (const store_unavailable& e) {
        fail(n, e);
      }
    }
    for (std::size_t n = 0; n < by_node.size(); ++n) {
      if (by_node[n].empty() || failed[n]) continue;
      const std::size_t redirected_before = next.size();
      try {
        redis_client& c = client(n);
        for (const pending* p : by_node[n]) {
          if (p->asking) c.get_reply();  // +OK; a refusal shows in the command's own reply
          auto reply = c.get_reply();
          const auto r = parse_redirect(*reply, nodes[n].address);
          if (!r) {
            replies[p->command] = std::move(reply);
            continue;
          }
          const std::size_t target = node_index(r->address);
          if (!r->ask) {
            owner[r->slot] = target;
            moved_to = target;
          }
          // Kept until answered, so a batch that gives up can say what redirected it.
          replies[p->command] = std::move(reply);
          next.push_back({p->command, target, r->ask});
        }
        if (waits[n]) {
          const redis_reply_ptr acks = c.get_reply();
          try {
            require_acknowledged(nodes[n].address, *acks, nodes[n].replicas, replica_wait);
          } catch (const store_unavailable& e) {
            // What it wrote is not safe yet, so its commands fail; but the master answers, so
            // its connection stays and a pipeline that only reads (a load, the store's clock)
            // is served on.
            failed[n] = true;
            failure = e.what();
            next.resize(redirected_before);
          }
        }
      } catch (const store_unavailable& e) {
        fail(n, e);
        next.resize(redirected_before);
      }
    }
    for (std::size_t n = 0; n < by_node.size(); ++n)
      if (failed[n])
        for (const pending* p : by_node[n]) replies[p->command].reset();
    // A MOVED usually means slots were resharded, rarely just one: reread the whole map from
    // the node that now owns the slot, whose view includes the move. A node that cannot say
    // yet leaves the map as the MOVED replies corrected it.
    if (moved_to) {
      try {
        const auto slots = client(*moved_to).command({"CLUSTER", "SLOTS"});
        if (!reply_is_error(*slots)) read_map(*moved_to, *slots);
      } catch (const store_unavailable& e) {
        // Its commands fail in the next round.
        if (!dynamic_cast<const node_unreachable*>(&e)) drop_node(*moved_to, since, e.what());
      }
    }
    todo = std::move(next);
  }
  if (failure && !where_reachable) throw node_unreachable(*failure);
  return replies;
}

}  // namespace streamgate
