#include "worker/store/redis/router.hpp"

#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "worker/store/redis/router_impl.hpp"

namespace streamgate {

using router_detail::no_node;
using router_detail::node_unreachable;
using router_detail::steady;
using router_detail::views;

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

std::size_t redis_router::impl::node_index(const redis_address& address) {
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (nodes[i].address == address) return i;
  nodes.push_back({address, nullptr});
  return nodes.size() - 1;
}

void redis_router::impl::rest_address(const redis_address& address, steady::time_point since,
                                      const std::string& reason) {
  rests.rest(address, since, reason);
  map_stale = cluster;
}

void redis_router::impl::drop_node(std::size_t i, steady::time_point since,
                                   const std::string& reason) {
  nodes[i].client.reset();
  // A connection that broke is often one of several (the nodes restarted together): every one
  // is made anew at the next call, and the map read again, instead of each found broken by a
  // batch of its own.
  stale = true;
  if (steady::now() - since >= timeout / 2) {
    rest_address(nodes[i].address, since, reason);
    return;
  }
  spdlog::warn("redis {} failed ({}); connecting again", to_string(nodes[i].address), reason);
}

redis_client& redis_router::impl::client(std::size_t i) {
  node& n = nodes[i];
  if (n.client) return *n.client;
  if (const std::string* reason = rests.reason(n.address))
    throw node_unreachable("redis " + to_string(n.address) + " failed a moment ago: " + *reason);
  const auto since = steady::now();
  try {
    auto fresh = std::make_unique<redis_client>(n.address, timeout);
    judge(n.address, *fresh);
    n.replicas = connected_replicas(*fresh->command({"ROLE"}));
    n.client = std::move(fresh);
  } catch (const store_unavailable& e) {
    rest_address(n.address, since, e.what());
    throw node_unreachable(e.what());
  }
  return *n.client;
}

void redis_router::impl::judge(const redis_address& master, redis_client& c) {
  if (check.judge) check.judge(master, *c.command(views(check.command)));
}

bool redis_router::impl::is_master(std::size_t i) const {
  for (const std::size_t m : masters)
    if (m == i) return true;
  return false;
}

void redis_router::impl::connect() {
  // The seeds first, then the masters the last map named: a worker given one seed still
  // finds the cluster again when that seed is the node that is down.
  std::vector<redis_address> candidates;
  for (const auto& list : {seeds, last_masters})
    for (const redis_address& a : list) {
      bool known = false;
      for (const redis_address& c : candidates) known = known || a == c;
      if (!known) candidates.push_back(a);
    }
  std::string last_error = "no seed given";
  for (const redis_address& candidate : candidates) {
    if (const std::string* reason = rests.reason(candidate)) {
      last_error = to_string(candidate) + " failed a moment ago: " + *reason;
      continue;
    }
    nodes.clear();
    masters.clear();
    const auto since = steady::now();
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
      map_stale = false;
      return;
    } catch (const store_unavailable& e) {
      last_error = e.what();
      rest_address(candidate, since, last_error);
    }
  }
  throw store_unavailable("no redis seed answers; last: " + last_error);
}

void redis_router::impl::read_map(std::size_t source, const redisReply& slots) {
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

std::size_t redis_router::impl::route(const std::string& key) const {
  if (!cluster || key.empty()) {
    // Any node will do: prefer one we are connected to already, then one not left alone.
    for (const std::size_t m : masters)
      if (nodes[m].client) return m;
    for (const std::size_t m : masters)
      if (!rests.reason(nodes[m].address)) return m;
    return masters.front();
  }
  const std::size_t index = owner[redis_slot_of(key)];
  // An unserved slot: a node answers CLUSTERDOWN (a reply) or redirects us.
  return index == no_node ? masters.front() : index;
}

void redis_router::impl::refresh_map() {
  for (const std::size_t m : std::vector<std::size_t>(masters)) {
    const auto since = steady::now();
    try {
      const auto slots = client(m).command({"CLUSTER", "SLOTS"});
      if (reply_is_error(*slots)) continue;
      read_map(m, *slots);
      map_stale = false;
      return;
    } catch (const node_unreachable&) {
    } catch (const store_unavailable& e) {
      drop_node(m, since, e.what());
    }
  }
}

std::vector<redis_reply_ptr> redis_router::impl::on_every_master(
    const std::vector<std::string>& args) {
  std::vector<redis_reply_ptr> replies(masters.size());
  std::vector<bool> sent(masters.size(), false);
  std::string failure;
  const auto since = steady::now();
  const auto failed = [&](std::size_t k, const store_unavailable& e) {
    if (!dynamic_cast<const node_unreachable*>(&e)) drop_node(masters[k], since, e.what());
    failure = e.what();
  };
  for (std::size_t k = 0; k < masters.size(); ++k) {
    try {
      redis_client& c = client(masters[k]);
      c.append(views(args));
      c.flush();
      sent[k] = true;
    } catch (const store_unavailable& e) {
      failed(k, e);
    }
  }
  for (std::size_t k = 0; k < masters.size(); ++k) {
    if (!sent[k]) continue;
    try {
      replies[k] = client(masters[k]).get_reply();
    } catch (const store_unavailable& e) {
      failed(k, e);
    }
  }
  if (std::none_of(replies.begin(), replies.end(), [](const auto& r) { return r != nullptr; }))
    throw node_unreachable("no redis master answers; last: " + failure);
  return replies;
}

redis_router::redis_router(std::vector<redis_address> seeds, std::chrono::milliseconds timeout,
                           redis_node_check check)
    : impl_(std::make_unique<impl>(std::move(seeds), timeout, std::move(check))) {
  impl_->connect();
}

redis_router::~redis_router() = default;

bool redis_router::cluster() const { return impl_->cluster; }

std::vector<redis_reply_ptr> redis_router::run(const std::vector<redis_command>& commands) {
  return impl_->guarded([&] { return impl_->run(commands, false); });
}

std::vector<redis_reply_ptr> redis_router::run_where_reachable(
    const std::vector<redis_command>& commands) {
  return impl_->guarded([&] { return impl_->run(commands, true); });
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
        if (replies[k]) impl_->check.judge(impl_->nodes[impl_->masters[k]].address, *replies[k]);
    }
    // A replica added (or gone) since a master was connected to.
    const auto roles = impl_->on_every_master({"ROLE"});
    for (std::size_t k = 0; k < roles.size(); ++k)
      if (roles[k]) impl_->nodes[impl_->masters[k]].replicas = connected_replicas(*roles[k]);
  });
}

}  // namespace streamgate
