// Writing the Redis store: seeding, a batch's commit pipeline (the lookup indexes, then one
// commit.lua call per group of users) and the calls of that script, loaded again on every master
// when a node answers NOSCRIPT.

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "worker/core/decisions.hpp"
#include "worker/store/redis/commit_script.hpp"
#include "worker/store/redis/redis_keys.hpp"
#include "worker/store/redis/redis_packing.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/redis/redis_store_errors.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

namespace {

// How many of the oldest of `size` entries a list capped at `cap` drops at once: not sent.
std::size_t beyond(std::size_t size, std::size_t cap) { return size > cap ? size - cap : 0; }

bool is_noscript(const redisReply& r) {
  return reply_is_error(r) && reply_string(r).starts_with("NOSCRIPT");
}

// The live-stream fields a commit writes in its user's hash: every stream when `whole` (the hash
// is written anew), else only those `changes` names. Each as field and value in `set`, and the
// fields of ended streams in `drop`.
void stream_fields(const user_commit& c, bool whole, std::vector<std::string>& set,
                   std::vector<std::string>& drop) {
  const std::vector<stream>& streams = c.state.streams;
  const std::string& owner = c.state.u.id;
  // A commit's new streams follow every older one: its event number is larger than that of any
  // commit before that made a stream, as making one is an event (worker/core/decisions.cpp).
  const auto write = [&](std::size_t i, std::uint64_t rank) {
    set.push_back(std::string(redis_detail::stream_field_prefix) + streams[i].stream_id);
    set.push_back(redis_detail::pack_stream(streams[i], owner, {c.state.seq, rank}));
  };
  const auto lease = [&](std::size_t i) {
    set.push_back(std::string(redis_detail::lease_field_prefix) + streams[i].stream_id);
    set.push_back(redis_detail::pack_lease(streams[i].expires_at_ms));
  };
  if (whole) {
    for (std::size_t i = 0; i < streams.size(); ++i) {
      write(i, i);
      lease(i);
    }
    return;
  }
  const stream_changes& changes = *c.streams_changed;
  for (std::size_t r = 0; r < changes.added.size(); ++r) {
    write(changes.added[r], r);
    lease(changes.added[r]);
  }
  for (const std::size_t i : changes.renewed) lease(i);
  for (const std::string& id : changes.ended) {
    drop.push_back(std::string(redis_detail::stream_field_prefix) + id);
    drop.push_back(std::string(redis_detail::lease_field_prefix) + id);
  }
}

// Appends a user's change list to commit.lua's arguments (its layout is in the script) and
// returns the starts its ring will have had written once committed. `made`: those written before,
// 0 when the hash is written anew (`whole`), whose ring numbers its starts from 0 again.
std::int64_t append_change_list(const user_commit& c, bool whole, std::int64_t made,
                                std::size_t audit_cap, std::vector<std::string>& args) {
  std::vector<std::string> set;
  std::vector<std::string> drop;
  // The list keeps the newest `audit_cap` lines anyway: older ones of this commit are not sent.
  std::size_t audit_skip = c.audit.size();
  if (!c.remove) {
    // Written anew, the hash gets every start the state remembers, else only this commit's.
    // The ring keeps the newest of either anyway.
    const std::vector<core::remembered_start>& starts = whole ? c.state.starts : c.new_starts;
    const std::size_t skip = beyond(starts.size(), core::most_remembered_starts);
    const std::int64_t before = made;
    made += static_cast<std::int64_t>(starts.size() - skip);
    set = {"v", std::to_string(c.state.version + 1),
           "s", encode_state(c.state, false),
           "n", std::to_string(made)};
    for (std::size_t i = skip; i < starts.size(); ++i) {
      const auto number = static_cast<std::size_t>(before) + (i - skip);
      set.push_back(std::string(redis_detail::start_field_prefix) +
                    std::to_string(number % core::most_remembered_starts));
      set.push_back(encode_start(starts[i]));
    }
    stream_fields(c, whole, set, drop);
    audit_skip = beyond(c.audit.size(), audit_cap);
  }
  args.push_back(std::to_string(c.state.version));
  args.push_back(c.same_expiry_as_loaded ? std::string("=")
                 : c.next_expiry         ? std::to_string(*c.next_expiry)
                                         : std::string());
  args.push_back(c.state.u.id);
  args.push_back(std::to_string(c.streams_delta));
  args.push_back(c.remove ? "-" : whole ? "1" : "");
  args.push_back(std::to_string(set.size()));
  args.push_back(std::to_string(drop.size()));
  args.push_back(std::to_string(c.audit.size() - audit_skip));
  std::move(set.begin(), set.end(), std::back_inserter(args));
  std::move(drop.begin(), drop.end(), std::back_inserter(args));
  for (std::size_t i = audit_skip; i < c.audit.size(); ++i)
    args.push_back(redis_detail::pack_audit(c.audit[i]));
  return made;
}

}  // namespace

void redis_store::load_script() {
  // A master that cannot be reached now answers NOSCRIPT when it is back, and gets it then.
  const auto replies = router_.run_on_every_node({"SCRIPT", "LOAD", std::string(redis_commit_lua)});
  std::string sha;
  for (const auto& r : replies) {
    if (!r) continue;
    redis_detail::require_no_error(*r, "SCRIPT LOAD of commit.lua");
    const std::string_view node_sha = reply_string(*r);
    if (!sha.empty() && node_sha != sha)
      redis_detail::unexpected("nodes disagree on the SHA1 of commit.lua");
    sha = node_sha;
  }
  if (sha.empty()) redis_detail::unexpected("no node loaded commit.lua");
  script_sha_ = std::move(sha);
}

std::vector<redis_reply_ptr> redis_store::run(const std::vector<redis_command>& commands,
                                              bool where_reachable) {
  const auto routed = [&](const std::vector<redis_command>& c) {
    return where_reachable && router_.cluster() ? router_.run_where_reachable(c) : router_.run(c);
  };
  std::vector<redis_reply_ptr> replies = routed(commands);
  // A NOSCRIPT call ran nothing, so sending it again is safe. Twice at most: a node that still
  // lacks the script after a load on every master is not one the slot map knew; the caller then
  // sees an unexpected reply.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<std::size_t> lost;
    for (std::size_t i = 0; i < replies.size(); ++i)
      if (replies[i] && is_noscript(*replies[i])) lost.push_back(i);
    if (lost.empty()) break;
    load_script();
    std::vector<redis_command> again;
    for (const std::size_t i : lost) {
      again.push_back(commands[i]);
      again.back().args[1] = script_sha_;  // EVALSHA's SHA
    }
    std::vector<redis_reply_ptr> answers = routed(again);
    for (std::size_t k = 0; k < lost.size(); ++k) replies[lost[k]] = std::move(answers[k]);
  }
  return replies;
}

void redis_store::seed(const dataset_catalog& catalog, const std::vector<core::user_state>& users) {
  std::vector<redis_command> catalog_commands;
  if (!catalog.videos.empty()) {
    redis_command& c = catalog_commands.emplace_back();
    c.key = redis_detail::videos_key;
    c.args = {"HSET", std::string(redis_detail::videos_key)};
    for (const video& v : catalog.videos) {
      c.args.push_back(v.id);
      c.args.push_back(redis_detail::pack_video(v));
    }
  }
  if (!catalog.plans.empty()) {
    redis_command& c = catalog_commands.emplace_back();
    c.key = redis_detail::plans_key;
    c.args = {"HSET", std::string(redis_detail::plans_key)};
    for (const plan& p : catalog.plans) {
      c.args.push_back(p.id);
      c.args.push_back(redis_detail::pack_plan(p));
    }
  }
  for (const auto& r : run(catalog_commands))
    redis_detail::require_no_error(*r, "writing the catalog");

  // Created only where absent (expected version 0): a user who exists, seeded by another worker
  // or changed since, is kept as it is.
  std::vector<user_commit> creates;
  std::vector<std::string> ids;
  creates.reserve(users.size());
  for (const core::user_state& u : users) {
    user_commit& c = creates.emplace_back();
    c.state = u;
    c.state.version = 0;
    c.next_expiry = core::next_expiry(u);
    ids.push_back(u.u.id);
  }
  static_cast<void>(commit(creates));
  forget(ids);  // no decider holds them: each is loaded when first asked for

  // Last, in a round trip of its own: only once everything above is acknowledged by every node
  // does the marker say the dataset is whole.
  const std::string key(redis_detail::seeded_key);
  const auto marked = run({{key, {"SET", key, dataset_id_}}});
  redis_detail::require_no_error(*marked[0], "SET " + key);
}

std::optional<std::int64_t> redis_store::starts_made_at(const user_commit& c, bool whole) const {
  if (c.state.version == 0 || whole) return 0;
  const auto known = starts_made_.find(c.state.u.id);
  if (known == starts_made_.end() || known->second.version != c.state.version) return std::nullopt;
  return known->second.made;
}

std::vector<commit_status> redis_store::commit(const std::vector<user_commit>& commits) {
  if (commits.empty()) return {};
  std::vector<commit_status> out(commits.size(), commit_status::conflict);
  // The lookup indexes are written before the commits, so they name a superset of what was
  // committed: request_owner() finds the user of every committed request (the user's state then
  // says what was decided) and user_ids() misses no user. One pipeline keeps that order on one
  // server; a cluster's nodes run their pipelines independently, so there the indexes take a
  // round trip of their own first, and a user whose index writes failed is not committed.
  std::vector<redis_command> indexes;
  std::vector<std::size_t> index_of;  // the commit each index write is for
  const std::int64_t memory = options_.request_memory_ms;
  const std::int64_t now = clock_ms();
  if (expiring_request_keys_.size() > 4 * redis_detail::request_shards)
    expiring_request_keys_.clear();
  // The request index's hashes this commit gives their expiry: noted as given once Redis
  // acknowledged it, so a pipeline that failed halfway sends it again.
  std::unordered_set<std::string> expiring_now;
  // Where each commit's ring of starts stands at the loaded version, for the start fields' names.
  // Unknown (not loaded by this store, or at another version): not sent, and answered conflict,
  // so the decider loads the user again (read_user notes it) and decides again.
  std::vector<std::optional<std::int64_t>> made(commits.size());
  // Written anew (every field) rather than by its changes: a new user, or one an older worker
  // wrote.
  std::vector<bool> whole(commits.size(), false);
  std::vector<bool> sent(commits.size(), false);
  for (std::size_t k = 0; k < commits.size(); ++k) {
    const user_commit& c = commits[k];
    const std::string& id = c.state.u.id;
    whole[k] = !c.streams_changed || whole_next_.contains(id);
    made[k] = starts_made_at(c, whole[k]);
    if (!made[k] && !c.remove) continue;
    sent[k] = true;
    // HSETNX: of two users' starts with one requestId that two workers decided at once (each
    // load found it free), the first to commit keeps it (across a generation's end, a lookup
    // takes the older generation's); the other's start stays in its own user's state only. A
    // load could claim it instead, but a write there makes Redis sync its AOF twice per batch,
    // which costs more than the rest of the decision.
    for (const core::remembered_start& start : c.new_starts) {
      const std::size_t shard = redis_detail::request_shard_of(start.request_id);
      const std::int64_t generation = redis_detail::request_generation(now, shard, memory);
      std::string key = redis_detail::request_index_key(shard, generation);
      indexes.push_back({key, {"HSETNX", key, start.request_id, id}});
      index_of.push_back(k);
      // After the field, so the hash exists; on the key's node, in this order.
      if (!expiring_request_keys_.contains(key) && expiring_now.insert(key).second) {
        const std::int64_t expiry =
            redis_detail::request_generation_expiry_ms(generation, shard, memory);
        indexes.push_back({key, {"PEXPIREAT", key, std::to_string(expiry)}});
        index_of.push_back(k);
      }
    }
    if (c.state.version == 0) {
      indexes.push_back({std::string(redis_detail::users_key),
                         {"SADD", std::string(redis_detail::users_key), id}});
      index_of.push_back(k);
    }
  }
  // Their replies come first (index_of has one entry per index write).
  const auto indexes_written = [&](const std::vector<redis_reply_ptr>& replies) {
    for (std::size_t i = 0; i < index_of.size(); ++i) {
      if (replies[i]) {
        redis_detail::require_no_error(*replies[i], "writing the request and user indexes");
        continue;
      }
      out[index_of[i]] = commit_status::unreachable;
      if (indexes[i].args.front() == "PEXPIREAT") expiring_now.erase(indexes[i].key);
    }
    expiring_request_keys_.merge(expiring_now);
  };
  const bool cluster = router_.cluster();
  if (cluster && !indexes.empty()) indexes_written(run(indexes, true));

  // One script call per group: every user on one server, each slot's users on a Cluster.
  struct script_group {
    std::vector<std::string> keys;
    std::vector<std::string> args;
    std::vector<std::size_t> commits;  // indexes in `commits`, in the keys' order
  };
  std::vector<script_group> groups;
  std::unordered_map<std::size_t, std::size_t> group_of_slot;
  // Each sent commit's starts written in all once committed (its ring's n).
  std::vector<std::int64_t> made_after(commits.size(), 0);
  for (std::size_t k = 0; k < commits.size(); ++k) {
    if (!sent[k] || out[k] == commit_status::unreachable) continue;
    const user_commit& c = commits[k];
    const std::string& id = c.state.u.id;
    // A Cluster's slot is also the user's shard; a single server is one group and one shard.
    const std::size_t slot = redis_detail::shard_slot_of(id, cluster);
    const auto [found, added] = group_of_slot.try_emplace(slot, groups.size());
    if (added) {
      script_group& g = groups.emplace_back();
      g.keys.push_back(redis_detail::lease_index_key(slot));
      g.keys.push_back(redis_detail::active_key(slot));
    }
    script_group& g = groups[found->second];
    g.commits.push_back(k);
    g.keys.push_back(redis_detail::user_key(id));
    g.keys.push_back(redis_detail::audit_key(id));
    made_after[k] =
        append_change_list(c, whole[k], made[k].value_or(0), options_.audit_cap, g.args);
  }
  std::vector<redis_command> scripts;
  scripts.reserve(groups.size());
  for (script_group& g : groups) {
    redis_command& script = scripts.emplace_back();
    script.key = g.keys.front();  // the lease index: in the group's slot
    script.args.reserve(4 + g.keys.size() + g.args.size());
    script.args = {"EVALSHA", script_sha_, std::to_string(g.keys.size())};
    std::move(g.keys.begin(), g.keys.end(), std::back_inserter(script.args));
    script.args.push_back(std::to_string(options_.audit_cap));
    std::move(g.args.begin(), g.args.end(), std::back_inserter(script.args));
  }

  // Read after the commits (on the node of every worker's clock): the next batch's load may
  // need nothing else (redis_store::estimated_now_ms).
  scripts.push_back({std::string(redis_detail::dataset_key), {"TIME"}});
  std::vector<redis_reply_ptr> replies;
  if (cluster) {
    replies = run(scripts, true);
  } else {
    const std::size_t index_count = indexes.size();
    indexes.insert(indexes.end(), std::make_move_iterator(scripts.begin()),
                   std::make_move_iterator(scripts.end()));
    replies = run(indexes);
    indexes_written(replies);
    replies.erase(replies.begin(), replies.begin() + static_cast<std::ptrdiff_t>(index_count));
  }
  if (replies.back()) note_time(*replies.back());
  replies.pop_back();

  for (std::size_t g = 0; g < groups.size(); ++g) {
    if (!replies[g]) {
      for (const std::size_t k : groups[g].commits) out[k] = commit_status::unreachable;
      continue;
    }
    const redisReply& answers = *replies[g];
    redis_detail::require_no_error(answers, "commit.lua");
    if (reply_size(answers) != groups[g].commits.size())
      redis_detail::unexpected("commit.lua answered " + std::to_string(reply_size(answers)) +
                               " of " + std::to_string(groups[g].commits.size()) + " users");
    for (std::size_t i = 0; i < groups[g].commits.size(); ++i) {
      const std::size_t k = groups[g].commits[i];
      const long long answer = reply_integer(reply_at(answers, i));
      if (answer != 0 && answer != 1)
        redis_detail::unexpected("commit.lua answered " + std::to_string(answer) + " for user '" +
                                 commits[k].state.u.id + "'");
      out[k] = answer == 1 ? commit_status::committed : commit_status::conflict;
      if (answer == 1) {
        const user_commit& c = commits[k];
        whole_next_.erase(c.state.u.id);
        if (c.remove)
          starts_made_.erase(c.state.u.id);
        else
          starts_made_.insert_or_assign(c.state.u.id,
                                        ring_position{c.state.version + 1, made_after[k]});
      }
    }
  }
  // A removed user leaves the user set only once removed, so user_ids() never misses a user
  // (it may name one just removed: a load then finds none).
  std::vector<redis_command> removed;
  for (std::size_t k = 0; k < commits.size(); ++k)
    if (commits[k].remove && out[k] == commit_status::committed)
      removed.push_back({std::string(redis_detail::users_key),
                         {"SREM", std::string(redis_detail::users_key), commits[k].state.u.id}});
  if (!removed.empty())
    for (const auto& r : run(removed))
      redis_detail::require_no_error(*r, "removing users from the user set");
  return out;
}
}  // namespace streamgate
