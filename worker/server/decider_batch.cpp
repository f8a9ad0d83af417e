// The decider's batches: its requests grouped by user and loaded at once, one try at a group
// (its requests decided in order on the user's state, then the commit that state needs), and what
// a committed try hands back (replies, events, counters). The rounds that retry a group whose
// commit conflicted are decide()'s, in decider.cpp.

#include "worker/server/decider_batch.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>
#include <variant>

#include "common/ids.hpp"

namespace streamgate {

namespace {

// Ops whose user is reloaded on a shared store rather than taken from the cache, which another
// worker may have made stale. Those that only read, so a read never shows what another worker
// has since changed; and a create, whose refusal of a user that exists commits nothing, so no
// version check would catch a copy of a user another worker has since deleted. (Every other op
// commits, version-checked, and is decided again on what the store holds when it conflicts.)
bool needs_fresh_state(const request_body& body) {
  return std::holds_alternative<get_user_request>(body) ||
         std::holds_alternative<list_streams_request>(body) ||
         std::holds_alternative<snapshot_request>(body) ||
         std::holds_alternative<authenticate_request>(body) ||
         std::holds_alternative<create_user_request>(body);
}

// The user a request acts on; nullopt for the ops that are not about one user.
std::optional<std::string> user_of(const request_body& body) {
  // Answered after the batch's commit, so they see what it decided.
  if (std::holds_alternative<list_events_request>(body)) return std::nullopt;
  const std::optional<std::string_view> user = user_named_by(body);
  return user ? std::optional<std::string>(*user) : std::nullopt;
}

}  // namespace

decider::batch decider::group_batch(const std::vector<request_body>& requests,
                                    const std::vector<std::string>& due_users) {
  batch b{requests, {}, {}, std::vector<std::optional<std::string>>(requests.size())};
  std::unordered_map<std::string, std::size_t> group_of;
  const auto group_for = [&](const std::string& user_id) -> user_group& {
    const auto [it, added] = group_of.try_emplace(user_id, b.groups.size());
    if (added) b.groups.push_back(user_group{user_id, {}, false, false});
    return b.groups[it->second];
  };

  for (std::size_t i = 0; i < requests.size(); ++i) {
    const request_body& body = requests[i];
    std::optional<std::string> user_id = user_of(body);
    if (const auto* create = std::get_if<create_user_request>(&body); create && !create->id)
      user_id = b.created_ids[i] = new_id("u_");  // 128 random bits: no collision worth a retry
    if (!user_id) {
      b.globals.push_back(i);
      continue;
    }
    user_group& g = group_for(*user_id);
    g.requests.push_back(i);
    g.fresh = g.fresh || needs_fresh_state(body);
  }
  for (const std::string& id : due_users) group_for(id).expire = true;
  return b;
}

// One load for the batch: what is not cached, and on a shared store what needs_fresh_state.
void decider::load_batch(const batch& b) {
  std::vector<std::string> missing;
  std::vector<std::string> reread;
  for (const user_group& g : b.groups)
    (g.fresh && !store_.exclusive() ? reread : missing).push_back(g.user_id);
  std::vector<std::string> wanted;
  for (std::string& id : missing)
    if (!cache_.contains(id)) wanted.push_back(std::move(id));
  wanted.insert(wanted.end(), reread.begin(), reread.end());
  // A requestId is one user's: another user's start with it is refused (409), not decided. One
  // the api made for this start can be no one else's.
  request_owners_.clear();
  std::vector<std::string> request_ids;
  for (const request_body& body : b.requests)
    if (const auto* r = std::get_if<start_request>(&body); r && !r->request_id_made)
      request_ids.push_back(r->request_id);
  load(wanted, true, request_ids);
}

bool decider::decide_group(const batch& b, const user_group& group, attempt& a,
                           std::vector<user_commit>& commits) {
  // Taken out of the cache, not copied: it goes back once committed (or unchanged), and a
  // user whose commit was refused or failed is reloaded anyway.
  const auto cached = cache_.find(group.user_id);
  if (cached != cache_.end()) {
    a.read_now = cached->second.read_in_batch == batches_;
    a.state = std::move(cached->second.state);
    a.next_expiry = cached->second.next_expiry;
    cache_.erase(cached);
  }
  const bool loaded = a.state.has_value();
  const int loaded_streams = loaded ? static_cast<int>(a.state->streams.size()) : 0;
  const std::optional<std::int64_t> loaded_expiry = a.next_expiry;
  for (std::size_t g = 0; g < group.requests.size(); ++g) {
    const request_body& body = b.requests[group.requests[g]];
    // Deleted earlier in this batch: gone for what follows (a create waits for the commit).
    if (a.effects.removed) {
      a.replies.push_back(
          std::holds_alternative<create_user_request>(body)
              ? failure(error{error_code::unavailable, "the user is being deleted; retry"})
              : unknown_user(group.user_id));
      continue;
    }
    // A user the store does not have exists only through create_user.
    if (!a.state) {
      if (const auto* create = std::get_if<create_user_request>(&body)) {
        const std::string& id = create->id ? *create->id : *b.created_ids[group.requests[g]];
        auto made = core::create_user(*create, id, rules_);
        if (!made) {
          a.replies.push_back(failure(made.error()));
          continue;
        }
        a.state = std::move(*made);
        a.effects.changed = true;
        a.replies.push_back({outcome::created, {}});  // shown after the group
        continue;
      }
      a.replies.push_back(unknown_user(group.user_id));
      continue;
    }
    a.replies.push_back(decide_one(body, *a.state, a));
  }
  if (a.state && group.expire && !a.effects.removed)
    core::expire(*a.state, now_ms_, rules_, a.effects);
  show_created(group, a);
  if (!a.effects.changed || !a.state) return false;
  core::user_state& state = *a.state;
  const int delta = static_cast<int>(state.streams.size()) - loaded_streams;
  // A user that was not loaded (created here) has no stored streams to change: all are written.
  std::optional<stream_changes> changed;
  if (loaded) {
    // Every ending publishes its ended event (worker/core/decisions.cpp, record_end).
    std::vector<std::string> ended;
    for (const core::event& e : a.effects.events)
      if (const auto* end = std::get_if<ended_event>(&e.what)) ended.push_back(end->stream_id);
    changed = changes_of(a.effects.started, a.effects.renewed, ended, state.streams);
  }
  // When the decisions only made streams, the earliest lease is the loaded one or one of theirs:
  // no second pass over every stream the user holds.
  std::optional<std::int64_t> expiry;
  if (changed && changed->ended.empty() && changed->renewed.empty()) {
    expiry = loaded_expiry;
    for (const std::size_t i : changed->added)
      expiry =
          std::min(expiry.value_or(state.streams[i].expires_at_ms), state.streams[i].expires_at_ms);
  } else {
    expiry = core::next_expiry(state);
  }
  a.next_expiry = expiry;
  commits.push_back(user_commit{std::move(state), std::move(a.effects.audit), expiry,
                                std::move(a.effects.remembered), delta, a.effects.removed,
                                expiry == loaded_expiry, std::move(changed)});
  return true;
}

// A try that commits nothing is checked by no version. On a shared store, one decided on a copy
// that this batch did not read may answer from what another worker has since changed: a stop or
// heartbeat of a stream started there told "unknown stream", a stop-all of its streams told done
// while they go on. Such a group is decided again on what the store holds, as after a conflict.
// Rare: every answer but those and the reads (read fresh) commits.
bool decider::unchecked(const user_group& group, const attempt& a) const {
  return !store_.exclusive() && !a.read_now && !group.requests.empty();
}

void decider::hand_back(const user_group& group, attempt& a, std::vector<reply>& replies,
                        std::vector<published_event>& events) {
  for (std::size_t g = 0; g < group.requests.size(); ++g)
    replies[group.requests[g]] = std::move(a.replies[g]);
  for (core::event& e : a.effects.events) {
    const std::string sequence = encode_counted_id(epoch(), e.seq);
    if (const auto* v = std::get_if<verdict>(&e.what)) {
      events.push_back({group.user_id, *v, sequence,
                        v->allowed && v->granted && a.state
                            ? grant_if_live(*a.state, v->granted->stream_id)
                            : std::string()});
    } else if (const auto* ended = std::get_if<ended_event>(&e.what)) {
      events.push_back({group.user_id, *ended, sequence,
                        encode_playback_note(playback_end{ended->stream_id})});
    } else {
      const auto& revoked = std::get<access_revoked>(e.what);
      events.push_back({group.user_id, revoked, sequence,
                        encode_playback_note(revoked)});
    }
  }
  counters_.allowed += static_cast<std::uint64_t>(a.effects.allowed);
  counters_.denied += static_cast<std::uint64_t>(a.effects.denied);
  counters_.over_limit += static_cast<std::uint64_t>(a.effects.over_limit);
  counters_.near_limit += static_cast<std::uint64_t>(a.effects.near_limit);
  counters_.evicted += static_cast<std::uint64_t>(a.effects.evicted);
  counters_.expired += static_cast<std::uint64_t>(a.effects.expired);
  counters_.replayed += static_cast<std::uint64_t>(a.effects.replayed);
  if (a.state && !a.effects.removed) cache(std::move(*a.state), a.next_expiry);
}

}  // namespace streamgate
