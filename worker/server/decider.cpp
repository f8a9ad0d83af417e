// The decider's cache of user states and the rounds of decide(): a batch is decided, committed,
// and the users whose commit met a newer version are reloaded and decided again until the
// conflict budget runs out. Batches are in decider_batch.cpp, the ops in decider_user_ops.cpp and
// decider_global_ops.cpp.

#include "worker/server/decider.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cassert>
#include <limits>
#include <random>
#include <thread>
#include <utility>
#include <variant>

#include "common/clock.hpp"
#include "worker/server/decider_batch.hpp"

namespace streamgate {

namespace {

// Version conflicts need two workers deciding for one user at once: a worker that comes back, or
// an api that thought a busy worker dead and routed its users elsewhere (docs/design.md §1).
// Every conflict means the other worker committed, so deciding again makes progress; rounds go
// on, each after a random pause that grows, so the two workers fall out of step, until this much
// time is spent. Only then does the client hear 503 and retry with its requestId.
constexpr auto conflict_budget = std::chrono::seconds(2);
constexpr auto first_conflict_pause = std::chrono::microseconds(200);
constexpr auto longest_conflict_pause = std::chrono::milliseconds(20);

constexpr char store_node_unreachable[] =
    "a store server this request needs cannot be reached; retry";

}  // namespace

decider::decider(store& s, core::rules rules, cache_bounds bounds, wall_clock wall)
    : store_(s),
      rules_(std::move(rules)),
      wall_ms_(wall ? std::move(wall) : wall_clock([] { return now().wall_ms; })),
      bounds_(bounds),
      trim_above_(core::with_slack(bounds.most_users)) {
  catalog_ = store_.load_catalog();
  rules_.plans = catalog_.plans;
  // The only writer caches every user with a live stream, whose lease it ends and whose streams
  // the live-stream gauge sums; the others come in as they are asked for. Its lease index names
  // them all: every lease is due by the end of time.
  if (store_.exclusive())
    load(store_.due_users(std::numeric_limits<std::int64_t>::max(),
                          std::numeric_limits<std::size_t>::max()),
         false);
}

std::vector<std::string> decider::due_users() {
  // The store's time now: an idle worker's last load may be long past.
  now_ms_ = store_.load({}).now_ms;
  std::vector<std::string> due = store_.due_users(now_ms_, 100);
  while (!lease_heap_.empty() && lease_heap_.top().first <= now_ms_) {
    const auto [at, user_id] = lease_heap_.top();
    lease_heap_.pop();
    const auto entry = lease_entry_at_.find(user_id);
    if (entry == lease_entry_at_.end() || entry->second != at) continue;
    lease_entry_at_.erase(entry);
    const auto cached = cache_.find(user_id);
    if (cached == cache_.end()) continue;
    const auto& expiry = cached->second.next_expiry;
    if (!expiry) continue;
    if (*expiry <= now_ms_)
      due.push_back(user_id);
    else
      queue_expiry(user_id, *expiry);  // renewed since it was queued
  }
  std::sort(due.begin(), due.end());
  due.erase(std::unique(due.begin(), due.end()), due.end());
  return due;
}

decider::cached_user& decider::cache(core::user_state state) {
  const std::optional<std::int64_t> expiry = core::next_expiry(state);
  return cache(std::move(state), expiry);
}

decider::cached_user& decider::cache(core::user_state state,
                                     std::optional<std::int64_t> next_expiry) {
  assert(next_expiry == core::next_expiry(state));
  // An exclusive store's own lease index is exact and in memory already: no second one here.
  if (!store_.exclusive() && next_expiry) queue_expiry(state.u.id, *next_expiry);
  std::string id = state.u.id;
  return cache_.insert_or_assign(std::move(id), cached_user{std::move(state), next_expiry, now_ms_})
      .first->second;
}

void decider::queue_expiry(const std::string& user_id, std::int64_t at) {
  const auto [entry, first] = lease_entry_at_.try_emplace(user_id, at);
  if (!first && entry->second <= at) return;
  entry->second = at;
  lease_heap_.emplace(at, user_id);
}

void decider::trim_cache() {
  if (cache_.size() <= trim_above_) return;
  // Only a state without live streams leaves: an exclusive store's gauge sums the cache and its
  // lease index finds no user that is not here, and on a shared store this worker's lease heap
  // ends its users' leases promptly (the store's own sweep is slow). A state read back on a
  // shared store is as fresh as any (the version check catches a stale one anyway). What stays
  // (live streams, recent use) sets when to look again, an eighth later, so a cache of busy
  // users is not swept at every batch.
  std::vector<std::string> gone;
  std::erase_if(cache_, [&](const auto& entry) {
    const cached_user& c = entry.second;
    const bool leaves = c.state.streams.empty() && now_ms_ - c.used_at_ms >= bounds_.idle_ms;
    if (leaves) gone.push_back(entry.first);
    return leaves;
  });
  store_.forget(gone);
  trim_above_ = core::with_slack(std::max(bounds_.most_users, cache_.size()));
}

std::optional<std::uint64_t> decider::active_streams() {
  if (!store_.exclusive()) {
    try {
      return store_.active_streams();
    } catch (const store_unavailable&) {
      return std::nullopt;  // no sample beats a wrong one
    }
  }
  std::uint64_t total = 0;
  for (const auto& [id, cached] : cache_) total += cached.state.streams.size();
  return total;
}

std::size_t decider::load(const std::vector<std::string>& user_ids, bool fresh,
                          const std::vector<std::string>& request_ids) {
  std::vector<std::string> wanted;
  for (const std::string& id : user_ids)
    if (fresh || !cache_.contains(id)) wanted.push_back(id);
  loaded_users loaded = store_.load(wanted, request_ids);
  now_ms_ = loaded.now_ms;
  for (const std::size_t i : loaded.unreachable_users) unreachable_users_.insert(wanted[i]);
  for (const std::size_t i : loaded.unreachable_requests)
    unreachable_requests_.insert(request_ids[i]);
  for (std::size_t i = 0; i < request_ids.size() && i < loaded.owners.size(); ++i)
    if (loaded.owners[i]) request_owners_.insert_or_assign(request_ids[i], *loaded.owners[i]);
  std::vector<std::string> gone;
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (loaded.states[i]) {
      cache(std::move(*loaded.states[i])).read_in_batch = batches_;
    } else {
      cache_.erase(wanted[i]);
      gone.push_back(wanted[i]);
    }
  }
  store_.forget(gone);
  return loaded.unreachable_users.size();
}

// A request still undecided when its api gave up on it (this worker hung, or its user's commits
// kept conflicting): its caller was told 503 and may have retried on another worker and gone on
// since, so deciding it now could undo what came after (a stop-all ending newer streams). Checked
// after each round's load, so only a round's deciding and its commit can outlast a deadline.
// The apis' and this host's wall clocks must agree far closer than --verdict-timeout-ms.
void decider::refuse_late(batch& b, std::vector<std::size_t>& pending,
                          std::span<const std::int64_t> deadlines,
                          std::vector<reply>& replies) const {
  if (deadlines.empty()) return;
  const std::int64_t now_ms = wall_ms_();
  std::erase_if(pending, [&](std::size_t g) {
    user_group& group = b.groups[g];
    std::erase_if(group.requests, [&](std::size_t i) {
      if (deadlines[i] == 0 || now_ms <= deadlines[i]) return false;
      spdlog::debug("refused a request {} ms after its api gave up on it", now_ms - deadlines[i]);
      replies[i] = failure(error{error_code::unavailable, "decided too late; retry"});
      return true;
    });
    return group.requests.empty() && !group.expire;
  });
}

void decider::refuse_unreachable(batch& b, std::vector<std::size_t>& pending,
                                 std::vector<reply>& replies) const {
  if (unreachable_users_.empty() && unreachable_requests_.empty()) return;
  std::erase_if(pending, [&](std::size_t g) {
    user_group& group = b.groups[g];
    const bool user_unreachable = unreachable_users_.contains(group.user_id);
    std::erase_if(group.requests, [&](std::size_t i) {
      const auto* start = std::get_if<start_request>(&b.requests[i]);
      if (!user_unreachable && !(start && unreachable_requests_.contains(start->request_id)))
        return false;
      replies[i] = failure(error{error_code::unavailable, store_node_unreachable});
      return true;
    });
    return group.requests.empty() && (!group.expire || user_unreachable);
  });
}

void decider::decide(const std::vector<request_body>& requests,
                     std::span<const std::int64_t> deadlines,
                     const std::vector<std::string>& due_users, std::vector<reply>& replies,
                     std::vector<published_event>& events) {
  assert(deadlines.empty() || deadlines.size() == requests.size());
  replies.assign(requests.size(), reply{});
  ++batches_;
  unreachable_users_.clear();
  unreachable_requests_.clear();
  batch b = group_batch(requests, due_users);
  std::vector<user_group>& groups = b.groups;  // refuse_late trims them
  load_batch(b);

  std::vector<std::size_t> pending(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) pending[g] = g;
  const auto first_round = std::chrono::steady_clock::now();
  auto pause_ceiling = std::chrono::duration_cast<std::chrono::microseconds>(first_conflict_pause);
  bool conflicted = false;  // in the round before: pause, so the two workers fall out of step
  std::vector<std::string> left_cache;  // users whose state this batch took out and dropped
  for (int round = 0; !pending.empty(); ++round) {
    if (round > 0) {
      if (std::chrono::steady_clock::now() - first_round > conflict_budget) break;
      if (std::exchange(conflicted, false)) {
        std::this_thread::sleep_for(std::chrono::microseconds(
            std::uniform_int_distribution<std::int64_t>(0, pause_ceiling.count())(jitter_)));
        pause_ceiling =
            std::min<std::chrono::microseconds>(pause_ceiling * 2, longest_conflict_pause);
      }
      std::vector<std::string> reload;
      for (std::size_t g : pending) reload.push_back(groups[g].user_id);
      load(reload, true);
    }
    refuse_late(b, pending, deadlines, replies);
    refuse_unreachable(b, pending, replies);
    std::vector<attempt> attempts(pending.size());
    std::vector<user_commit> commits;
    commits.reserve(pending.size());
    std::vector<std::size_t> committing;  // index in attempts of each commit
    std::vector<bool> refused(pending.size(), false);
    std::vector<bool> unreached(pending.size(), false);  // its commit's server could not be
    for (std::size_t p = 0; p < pending.size(); ++p) {
      if (decide_group(b, groups[pending[p]], attempts[p], commits))
        committing.push_back(p);
      else
        refused[p] = unchecked(groups[pending[p]], attempts[p]);
    }

    const std::vector<commit_status> statuses = store_.commit(commits);
    for (std::size_t c = 0; c < commits.size(); ++c) {
      if (statuses[c] == commit_status::unreachable) {
        unreached[committing[c]] = true;
        continue;
      }
      if (statuses[c] == commit_status::conflict) {
        refused[committing[c]] = true;
        conflicted = true;
        ++counters_.conflicts;
        continue;
      }
      core::user_state& state = *attempts[committing[c]].state;
      state = std::move(commits[c].state);
      ++state.version;
    }

    std::vector<std::size_t> still_pending;
    for (std::size_t p = 0; p < pending.size(); ++p) {
      // Applied or not, unknown: told 503 like a store that cannot be reached, and its state
      // (out of the cache) read again when next needed.
      if (unreached[p]) {
        for (std::size_t i : groups[pending[p]].requests)
          replies[i] = failure(error{error_code::unavailable, store_node_unreachable});
        left_cache.push_back(groups[pending[p]].user_id);
        continue;
      }
      if (refused[p]) {
        still_pending.push_back(pending[p]);
        continue;
      }
      hand_back(groups[pending[p]], attempts[p], replies, events);
    }
    pending = std::move(still_pending);
  }
  // Still refused when the budget ran out: told 503, never a decision that was not committed.
  for (std::size_t g : pending) {
    for (std::size_t i : groups[g].requests)
      replies[i] =
          failure(error{error_code::unavailable, "concurrent updates of this user; retry"});
    left_cache.push_back(groups[g].user_id);
  }
  store_.forget(left_cache);

  // After the commit, so the audit trail and listings show every decision of the batch.
  for (std::size_t i : b.globals) replies[i] = global(requests[i]);
  trim_cache();
}

}  // namespace streamgate
