#include "worker/store/redis/router.hpp"

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstddef>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "worker/store/redis/replica_acks.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

namespace {

// More redirections than this for one command means the cluster is being reconfigured faster
// than we follow it: better a 503 and a retry than a batch that never ends.
constexpr int max_redirections = 5;

constexpr std::size_t no_node = std::numeric_limits<std::size_t>::max();

bool same_address(const redis_address& a, const redis_address& b) {
  return a.port == b.port && a.host == b.host;
}

// "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381". Redis 7 writes an empty host (":6381")
// when the node's endpoint is unknown, meaning the host of the node that answered.
struct redirect {
  bool ask = false;
  std::uint16_t slot = 0;
  redis_address address;
};

std::optional<redirect> parse_redirect(const redisReply& reply, const redis_address& answered_by) {
  if (reply.type != REDIS_REPLY_ERROR) return std::nullopt;
  std::string_view text(reply.str, reply.len);
  redirect r;
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

std::vector<std::string_view> views(const std::vector<std::string>& args) {
  return {args.begin(), args.end()};
}

}  // namespace

std::optional<std::vector<redis_address>> parse_redis_urls(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) return std::nullopt;
  url.remove_prefix(scheme.size());
  std::vector<redis_address> out;
  while (true) {
    const auto comma = url.find(',');
    auto address = parse_redis_url(std::string(scheme) + std::string(url.substr(0, comma)));
    if (!address) return std::nullopt;
    out.push_back(std::move(*address));
    if (comma == std::string_view::npos) return out;
    url.remove_prefix(comma + 1);
  }
}

// Connections are pooled by address and the pool only grows until the next full reconnect, so a
// node's index stays valid while a batch follows redirections and the slot map is reread.
struct redis_router::impl {
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
  // Set by any failed call (a connection error, a node refused): the next call drops every
  // connection and rereads the map, because after a failover or restart the old map may name
  // nodes that are gone, and a call cut short may have left replies unread.
  bool stale = true;
  std::vector<node> nodes;
  std::vector<std::size_t> masters;         // indexes into nodes, in map order
  std::vector<redis_address> last_masters;  // of the last map read, kept across reconnects
  std::array<std::size_t, redis_slot_count> owner{};  // slot -> index into nodes, or no_node

  impl(std::vector<redis_address> s, std::chrono::milliseconds t, redis_node_check c)
      : seeds(std::move(s)),
        timeout(t),
        replica_wait(replica_wait_timeout(t)),
        check(std::move(c)) {}

  std::size_t node_index(const redis_address& address) {
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (same_address(nodes[i].address, address)) return i;
    nodes.push_back({address, nullptr});
    return nodes.size() - 1;
  }

  // A new connection is judged before anything else is sent on it, and kept only when it passes.
  redis_client& client(std::size_t i) {
    node& n = nodes[i];
    if (!n.client) {
      auto fresh = std::make_unique<redis_client>(n.address, timeout);
      judge(n.address, *fresh);
      n.replicas = connected_replicas(*fresh->command({"ROLE"}));
      n.client = std::move(fresh);
    }
    return *n.client;
  }

  void judge(const redis_address& master, redis_client& c) {
    if (check.judge) check.judge(master, *c.command(views(check.command)));
  }

  bool is_master(std::size_t i) const {
    for (const std::size_t m : masters)
      if (m == i) return true;
    return false;
  }

  void connect() {
    // The seeds first, then the masters the last map named: a worker given one seed still
    // finds the cluster again when that seed is the node that is down.
    std::vector<redis_address> candidates;
    for (const auto& list : {seeds, last_masters})
      for (const redis_address& a : list) {
        bool known = false;
        for (const redis_address& c : candidates) known = known || same_address(a, c);
        if (!known) candidates.push_back(a);
      }
    std::string last_error = "no seed given";
    for (const redis_address& candidate : candidates) {
      nodes.clear();
      masters.clear();
      try {
        auto seed_client = std::make_unique<redis_client>(candidate, timeout);
        const auto slots = seed_client->command({"CLUSTER", "SLOTS"});
        nodes.push_back({candidate, std::move(seed_client)});
        if (reply_is_error(*slots)) {
          const std::string_view error = reply_string(*slots);
          // A plain server says so; any other error (LOADING, ...) is a node not ready yet.
          if (error.find("cluster support disabled") == std::string_view::npos)
            throw store_unavailable("redis " + to_string(candidate) + ": " + std::string(error));
          cluster = false;
          masters = {0};
          owner.fill(0);
        } else {
          cluster = true;
          read_map(0, *slots);
        }
        // The seed's connection did not pass client(): judged here when it serves keys. A refusal
        // is no reason to try another seed, so it leaves connect().
        if (is_master(0)) judge(candidate, *nodes[0].client);
        nodes[0].replicas = connected_replicas(*nodes[0].client->command({"ROLE"}));
        stale = false;
        return;
      } catch (const store_unavailable& e) {
        last_error = e.what();
      }
    }
    throw store_unavailable("no redis seed answers; last: " + last_error);
  }

  // CLUSTER SLOTS: [[first, last, [host, port, id, ...] (the master), replicas...], ...].
  // A reply that cannot be read throws half-way, which leaves the router stale: the next call
  // rereads the whole map anyway.
  void read_map(std::size_t source, const redisReply& slots) {
    owner.fill(no_node);
    masters.clear();
    for (std::size_t r = 0; r < reply_size(slots); ++r) {
      const redisReply& range = reply_at(slots, r);
      const long long first = reply_integer(reply_at(range, 0));
      const long long last = reply_integer(reply_at(range, 1));
      const redisReply& master = reply_at(range, 2);
      redis_address address{std::string(reply_string(reply_at(master, 0))),
                            static_cast<int>(reply_integer(reply_at(master, 1)))};
      // An empty or "?" endpoint: the node does not know its own; it is the source's host.
      if (address.host.empty() || address.host == "?") address.host = nodes[source].address.host;
      if (first < 0 || last >= redis_slot_count || first > last)
        throw store_unavailable("redis: CLUSTER SLOTS names slots " + std::to_string(first) + "-" +
                                std::to_string(last));
      const std::size_t index = node_index(address);
      bool known = false;
      for (const std::size_t m : masters) known = known || m == index;
      if (!known) masters.push_back(index);
      for (long long s = first; s <= last; ++s) owner[static_cast<std::size_t>(s)] = index;
    }
    // A node with no slot yet (a cluster being created) still has to answer something.
    if (masters.empty()) masters.push_back(source);
    last_masters.clear();
    for (const std::size_t m : masters) last_masters.push_back(nodes[m].address);
  }

  std::size_t route(const std::string& key) const {
    if (!cluster || key.empty()) {
      // Any node will do: prefer one we are connected to already.
      for (const std::size_t m : masters)
        if (nodes[m].client) return m;
      return masters.front();
    }
    const std::size_t index = owner[redis_slot_of(key)];
    // An unserved slot: a node answers CLUSTERDOWN (a reply) or redirects us.
    return index == no_node ? masters.front() : index;
  }

  template <class Work>
  auto guarded(Work&& work) {
    try {
      if (stale) connect();
      return work();
    } catch (...) {
      stale = true;
      throw;
    }
  }

  std::vector<redis_reply_ptr> on_every_master(const std::vector<std::string>& args) {
    for (const std::size_t m : masters) {
      redis_client& c = client(m);
      c.append(views(args));
      c.flush();
    }
    std::vector<redis_reply_ptr> replies;
    for (const std::size_t m : masters) replies.push_back(client(m).get_reply());
    return replies;
  }

  std::vector<redis_reply_ptr> run(const std::vector<redis_command>& commands) {
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

    for (int round = 0; !todo.empty(); ++round) {
      if (round > max_redirections)
        throw store_unavailable(
            "redis: still redirected after " + std::to_string(max_redirections) +
            " tries: " + std::string(reply_string(*replies[todo.back().command])));
      std::vector<std::vector<const pending*>> by_node(nodes.size());
      std::vector<bool> waits(nodes.size(), false);  // for its replicas, after what it wrote
      for (const pending& p : todo) by_node[p.node].push_back(&p);
      std::vector<pending> next;
      std::optional<std::size_t> moved_to;
      // Every node's pipeline is sent before any reply is read: the nodes work (and sync their
      // AOF) at once, and a batch over three masters waits one round trip, not three.
      for (std::size_t n = 0; n < by_node.size(); ++n) {
        if (by_node[n].empty()) continue;
        redis_client& c = client(n);
        for (const pending* p : by_node[n]) {
          if (p->asking) c.append({"ASKING"});
          c.append(views(commands[p->command].args));
          waits[n] = waits[n] || (nodes[n].replicas > 0 &&
                                  redis_command_writes(commands[p->command].args.front()));
        }
        if (waits[n]) c.append(views(wait_command(nodes[n].replicas, replica_wait)));
        c.flush();
      }
      for (std::size_t n = 0; n < by_node.size(); ++n) {
        if (by_node[n].empty()) continue;
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
        if (waits[n])
          require_acknowledged(nodes[n].address, *c.get_reply(), nodes[n].replicas, replica_wait);
      }
      // A MOVED usually means slots were resharded, rarely just one: reread the whole map from
      // the node that now owns the slot, whose view includes the move. A node that cannot say
      // yet leaves the map as the MOVED replies corrected it.
      if (moved_to) {
        const auto slots = client(*moved_to).command({"CLUSTER", "SLOTS"});
        if (!reply_is_error(*slots)) read_map(*moved_to, *slots);
      }
      todo = std::move(next);
    }
    return replies;
  }
};

redis_router::redis_router(std::vector<redis_address> seeds, std::chrono::milliseconds timeout,
                           redis_node_check check)
    : impl_(std::make_unique<impl>(std::move(seeds), timeout, std::move(check))) {
  impl_->connect();
}

redis_router::~redis_router() = default;

bool redis_router::cluster() const { return impl_->cluster; }

std::vector<redis_reply_ptr> redis_router::run(const std::vector<redis_command>& commands) {
  return impl_->guarded([&] { return impl_->run(commands); });
}

std::vector<redis_reply_ptr> redis_router::run_on_every_node(const std::vector<std::string>& args) {
  return impl_->guarded([&] { return impl_->on_every_master(args); });
}

std::vector<std::pair<std::uint16_t, redis_address>> redis_router::first_slot_of_each_master() {
  return impl_->guarded([&] {
    std::vector<std::pair<std::uint16_t, redis_address>> firsts;
    if (!impl_->cluster) return firsts;
    for (const std::size_t m : impl_->masters)
      for (std::uint16_t slot = 0; slot < redis_slot_count; ++slot)
        if (impl_->owner[slot] == m) {
          firsts.emplace_back(slot, impl_->nodes[m].address);
          break;
        }
    return firsts;
  });
}

void redis_router::check_masters() {
  impl_->guarded([&] {
    if (impl_->check.judge) {
      const auto replies = impl_->on_every_master(impl_->check.command);
      for (std::size_t k = 0; k < replies.size(); ++k)
        impl_->check.judge(impl_->nodes[impl_->masters[k]].address, *replies[k]);
    }
    // A replica added (or gone) since a master was connected to.
    const auto roles = impl_->on_every_master({"ROLE"});
    for (std::size_t k = 0; k < roles.size(); ++k)
      impl_->nodes[impl_->masters[k]].replicas = connected_replicas(*roles[k]);
  });
}

}  // namespace streamgate
