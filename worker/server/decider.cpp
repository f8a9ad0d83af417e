#include "worker/server/decider.hpp"

#include <algorithm>
#include <random>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <variant>

#include "common/codec.hpp"
#include "common/ids.hpp"

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
// A worker that shares its store keeps at most this many users' states; past it the cache starts
// over (cheap: states reload on the next miss, and a stale one is caught by the version check).
constexpr std::size_t max_shared_cache = 200'000;

reply failure(const error& e) { return {outcome_of(e.code), encode_error(e)}; }
reply unknown_user(const std::string& id) { return failure(not_found("user '" + id + "' not found")); }

// Compares two hex digests in time that depends on their length only.
bool same_digest(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool contains_ignoring_case(std::string_view text, std::string_view needle) {
  return needle.empty() ||
         std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
           return ascii_lower(a) == ascii_lower(b);
         }) != text.end();
}

// Ops that only read a user: on a shared store their state is reloaded, so a read never shows
// what another worker has since changed.
bool reads_only(const request_body& body) {
  return std::holds_alternative<get_user_request>(body) ||
         std::holds_alternative<list_streams_request>(body) ||
         std::holds_alternative<snapshot_request>(body) ||
         std::holds_alternative<authenticate_request>(body);
}

// The user a request acts on; nullopt for the ops that are not about one user.
std::optional<std::string> user_of(const request_body& body) {
  return std::visit(
      [](const auto& r) -> std::optional<std::string> {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, create_user_request>) {
          return r.id;
        } else if constexpr (requires { r.user_id; }) {
          // Answered after the batch's commit, so they see what it decided.
          if constexpr (std::is_same_v<T, list_events_request>) return std::nullopt;
          else return r.user_id;
        } else {
          return std::nullopt;
        }
      },
      body);
}

}  // namespace

struct decider::user_group {
  std::string user_id;
  std::vector<std::size_t> requests;  // indexes in the batch, in order
  bool expire = false;                // named by the lease index
  bool reads = false;                 // holds an op that only reads
};

// One try at a group: what it decided, kept until the store answers its commit.
struct decider::attempt {
  std::optional<core::user_state> state;
  core::effects effects;
  std::vector<reply> replies;  // parallel to the group's requests
};

decider::decider(store& s, core::rules rules) : store_(s), rules_(std::move(rules)) {
  catalog_ = store_.load_catalog();
  rules_.plans = catalog_.plans;
  // The only writer caches every user: reads never wait for the store, and the live-stream gauge
  // is a sum over the cache.
  if (store_.exclusive()) load(store_.user_ids(), false);
}

std::vector<std::string> decider::due_users() {
  // The store's time now: an idle worker's last load may be long past.
  now_ms_ = store_.load({}).now_ms;
  std::vector<std::string> due = store_.due_users(now_ms_, 100);
  while (!lease_heap_.empty() && lease_heap_.top().first <= now_ms_) {
    const std::string user_id = lease_heap_.top().second;
    lease_heap_.pop();
    const auto cached = cache_.find(user_id);
    if (cached == cache_.end()) continue;
    const auto expiry = core::next_expiry(cached->second);
    if (expiry && *expiry <= now_ms_) due.push_back(user_id);
  }
  std::sort(due.begin(), due.end());
  due.erase(std::unique(due.begin(), due.end()), due.end());
  return due;
}

void decider::cache(core::user_state state) {
  // An exclusive store's own lease index is exact and in memory already: no second one here.
  if (const auto expiry = core::next_expiry(state); expiry && !store_.exclusive())
    lease_heap_.emplace(*expiry, state.u.id);
  std::string id = state.u.id;
  cache_.insert_or_assign(std::move(id), std::move(state));
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
  for (const auto& [id, state] : cache_) total += state.streams.size();
  return total;
}

void decider::load(const std::vector<std::string>& user_ids, bool fresh,
                   const std::vector<std::string>& request_ids) {
  std::vector<std::string> wanted;
  for (const std::string& id : user_ids)
    if (fresh || !cache_.contains(id)) wanted.push_back(id);
  if (!store_.exclusive() && cache_.size() + wanted.size() > max_shared_cache) {
    cache_.clear();
    lease_heap_ = {};
  }
  loaded_users loaded = store_.load(wanted, request_ids);
  now_ms_ = loaded.now_ms;
  for (std::size_t i = 0; i < request_ids.size() && i < loaded.owners.size(); ++i)
    if (loaded.owners[i]) request_owners_.insert_or_assign(request_ids[i], *loaded.owners[i]);
  for (std::size_t i = 0; i < wanted.size(); ++i) {
    if (loaded.states[i])
      cache(std::move(*loaded.states[i]));
    else
      cache_.erase(wanted[i]);
  }
}

void decider::decide(const std::vector<request_body>& requests,
                     const std::vector<std::string>& due_users, std::vector<reply>& replies,
                     std::vector<published_event>& events) {
  replies.assign(requests.size(), reply{});
  std::vector<user_group> groups;
  std::unordered_map<std::string, std::size_t> group_of;
  std::vector<std::size_t> globals;
  const auto group_for = [&](const std::string& user_id) -> user_group& {
    const auto [it, added] = group_of.try_emplace(user_id, groups.size());
    if (added) groups.push_back(user_group{user_id, {}, false, false});
    return groups[it->second];
  };

  std::vector<std::optional<std::string>> created_ids(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const request_body& body = requests[i];
    std::optional<std::string> user_id = user_of(body);
    if (const auto* create = std::get_if<create_user_request>(&body); create && !create->id)
      user_id = created_ids[i] = new_id("u_");  // 128 random bits: no collision worth a retry
    if (!user_id) {
      globals.push_back(i);
      continue;
    }
    user_group& g = group_for(*user_id);
    g.requests.push_back(i);
    g.reads = g.reads || reads_only(body);
  }
  for (const std::string& id : due_users) group_for(id).expire = true;

  // One load for the batch: what is not cached, and on a shared store what is only read.
  {
    std::vector<std::string> missing;
    std::vector<std::string> reread;
    for (const user_group& g : groups)
      (g.reads && !store_.exclusive() ? reread : missing).push_back(g.user_id);
    std::vector<std::string> wanted;
    for (std::string& id : missing)
      if (!cache_.contains(id)) wanted.push_back(std::move(id));
    wanted.insert(wanted.end(), reread.begin(), reread.end());
    // A requestId is one user's: another user's start with it is refused (409), not decided.
    request_owners_.clear();
    std::vector<std::string> request_ids;
    for (const request_body& body : requests)
      if (const auto* r = std::get_if<start_request>(&body)) request_ids.push_back(r->request_id);
    load(wanted, true, request_ids);
  }

  std::vector<std::size_t> pending(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) pending[g] = g;
  const auto first_round = std::chrono::steady_clock::now();
  auto pause_ceiling = std::chrono::duration_cast<std::chrono::microseconds>(first_conflict_pause);
  for (int round = 0; !pending.empty(); ++round) {
    if (round > 0) {
      if (std::chrono::steady_clock::now() - first_round > conflict_budget) break;
      std::this_thread::sleep_for(std::chrono::microseconds(
          std::uniform_int_distribution<std::int64_t>(0, pause_ceiling.count())(jitter_)));
      pause_ceiling =
          std::min<std::chrono::microseconds>(pause_ceiling * 2, longest_conflict_pause);
      std::vector<std::string> reload;
      for (std::size_t g : pending) reload.push_back(groups[g].user_id);
      load(reload, true);
    }
    std::vector<attempt> attempts(pending.size());
    std::vector<user_commit> commits;
    commits.reserve(pending.size());
    std::vector<std::size_t> committing;  // index in attempts of each commit
    for (std::size_t p = 0; p < pending.size(); ++p) {
      user_group& group = groups[pending[p]];
      // Taken out of the cache, not copied: it goes back once committed (or unchanged), and a
      // user whose commit was refused or failed is reloaded anyway.
      const auto cached = cache_.find(group.user_id);
      if (cached != cache_.end()) {
        attempts[p].state = std::move(cached->second);
        cache_.erase(cached);
      }
      const int loaded_streams =
          attempts[p].state ? static_cast<int>(attempts[p].state->streams.size()) : 0;
      const std::optional<std::int64_t> loaded_expiry =
          attempts[p].state ? core::next_expiry(*attempts[p].state) : std::nullopt;
      for (std::size_t g = 0; g < group.requests.size(); ++g) {
        const request_body& body = requests[group.requests[g]];
        // Deleted earlier in this batch: gone for what follows (a create waits for the commit).
        if (attempts[p].effects.removed) {
          attempts[p].replies.push_back(
              std::holds_alternative<create_user_request>(body)
                  ? failure(error{error_code::unavailable, "the user is being deleted; retry"})
                  : unknown_user(group.user_id));
          continue;
        }
        // A user the store does not have exists only through create_user.
        if (!attempts[p].state) {
          if (const auto* create = std::get_if<create_user_request>(&body)) {
            const std::string& id = create->id ? *create->id : *created_ids[group.requests[g]];
            auto made = core::create_user(*create, id, rules_);
            if (!made) {
              attempts[p].replies.push_back(failure(made.error()));
              continue;
            }
            attempts[p].state = std::move(*made);
            attempts[p].effects.changed = true;
            attempts[p].replies.push_back({outcome::created, {}});  // rendered after the group
            continue;
          }
          attempts[p].replies.push_back(unknown_user(group.user_id));
          continue;
        }
        attempts[p].replies.push_back(decide_one(body, *attempts[p].state, attempts[p]));
      }
      if (attempts[p].state && group.expire && !attempts[p].effects.removed)
        core::expire(*attempts[p].state, now_ms_, rules_, attempts[p].effects);
      render_created(group, attempts[p]);
      if (attempts[p].effects.changed && attempts[p].state) {
        committing.push_back(p);
        core::user_state& state = *attempts[p].state;
        const std::optional<std::int64_t> expiry = core::next_expiry(state);
        const int delta = static_cast<int>(state.streams.size()) - loaded_streams;
        commits.push_back(user_commit{std::move(state), std::move(attempts[p].effects.audit),
                                      expiry, std::move(attempts[p].effects.remembered), delta,
                                      attempts[p].effects.removed, expiry == loaded_expiry});
      }
    }

    const std::vector<commit_status> statuses = store_.commit(commits);
    std::vector<bool> refused(pending.size(), false);
    for (std::size_t c = 0; c < commits.size(); ++c) {
      if (statuses[c] == commit_status::conflict) {
        refused[committing[c]] = true;
        ++counters_.conflicts;
        continue;
      }
      core::user_state& state = *attempts[committing[c]].state;
      state = std::move(commits[c].state);
      ++state.version;
    }

    std::vector<std::size_t> still_pending;
    for (std::size_t p = 0; p < pending.size(); ++p) {
      if (refused[p]) {
        still_pending.push_back(pending[p]);
        continue;
      }
      const user_group& group = groups[pending[p]];
      attempt& a = attempts[p];
      for (std::size_t g = 0; g < group.requests.size(); ++g)
        replies[group.requests[g]] = std::move(a.replies[g]);
      for (core::event& e : a.effects.events) {
        const std::string sequence = epoch() + ' ' + std::to_string(e.seq);
        if (const auto* v = std::get_if<verdict>(&e.what)) {
          events.push_back({group.user_id, encode_verdict_event(*v, e.seq), sequence,
                            v->allowed && v->granted && a.state
                                ? grant_if_live(*a.state, v->granted->stream_id)
                                : std::string()});
        } else if (const auto* ended = std::get_if<ended_event>(&e.what)) {
          events.push_back({group.user_id, encode_ended_event(*ended, e.seq), sequence,
                            encode_playback_note(playback_end{ended->stream_id})});
        } else {
          const auto& revoked = std::get<access_revoked>(e.what);
          events.push_back({group.user_id, encode_revoked_event(revoked, e.seq), sequence,
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
      if (a.state && !a.effects.removed) cache(std::move(*a.state));
    }
    pending = std::move(still_pending);
  }
  // Still refused when the budget ran out: told 503, never a decision that was not committed.
  for (std::size_t g : pending)
    for (std::size_t i : groups[g].requests)
      replies[i] = failure(error{error_code::unavailable, "concurrent updates of this user; retry"});

  // After the commit, so the audit trail and listings show every decision of the batch.
  for (std::size_t i : globals) replies[i] = global(requests[i]);
}

void decider::render_created(const user_group& group, attempt& a) const {
  if (!a.state) return;
  for (std::size_t g = 0; g < group.requests.size(); ++g)
    if (a.replies[g].status == outcome::created && a.replies[g].body.empty())
      a.replies[g].body = render_user(*a.state);
}

std::string decider::render_user(const core::user_state& state) const {
  return encode_user(state.u, core::limit_of(state.u, rules_), core::policy_of(state.u, rules_),
                     static_cast<int>(state.streams.size()));
}

const video* decider::find_video(std::string_view id) const {
  // load_catalog() gives the videos sorted by id.
  const auto found = std::lower_bound(catalog_.videos.begin(), catalog_.videos.end(), id,
                                      [](const video& v, std::string_view x) { return v.id < x; });
  return found != catalog_.videos.end() && found->id == id ? &*found : nullptr;
}

std::string decider::grant_if_live(const core::user_state& state,
                                   const std::string& stream_id) const {
  for (const stream& s : state.streams)
    if (s.stream_id == stream_id && s.expires_at_ms > now_ms_)
      return encode_playback_note(playback_grant{s.stream_id, s.user_id, s.video_id});
  return {};
}

reply decider::decide_one(const request_body& body, core::user_state& state, attempt& a) {
  core::effects& out = a.effects;
  const auto render_current = [&] {
    core::expire(state, now_ms_, rules_, out);
    return render_user(state);
  };
  return std::visit(
      [&](const auto& r) -> reply {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, start_request>) {
          if (const auto owner = request_owners_.find(r.request_id);
              owner != request_owners_.end() && owner->second != state.u.id)
            return failure(conflict("requestId already used"));
          core::start_result started = core::start(state, r, find_video(r.video_id) != nullptr,
                                                   new_id("s_"), now_ms_, rules_, out);
          // docs/design.md, "Bad input": an unknown video is a 404 to the caller; the denial is
          // still recorded and published, and a replay maps the same way.
          if (started.v.reason == "unknown_video")
            return failure(not_found("unknown video '" + r.video_id + "'"));
          if (!started.v.allowed) return {outcome::denied, encode_verdict_body(started.v)};
          return {outcome::allowed, encode_verdict_body(started.v),
                  started.v.granted ? grant_if_live(state, started.v.granted->stream_id) : ""};
        } else if constexpr (std::is_same_v<T, heartbeat_request>) {
          auto expires = core::heartbeat(state, r.stream_id, now_ms_, rules_, out);
          if (!expires) return failure(expires.error());
          return {outcome::ok, encode_heartbeat_body(*expires), grant_if_live(state, r.stream_id)};
        } else if constexpr (std::is_same_v<T, stop_request>) {
          auto stopped = core::stop(state, r.stream_id, now_ms_, rules_, out);
          if (!stopped) return failure(stopped.error());
          return {outcome::no_content, {}};
        } else if constexpr (std::is_same_v<T, stop_all_request>) {
          core::stop_all(state, now_ms_, rules_, out);
          return {outcome::no_content, {}};
        } else if constexpr (std::is_same_v<T, get_user_request>) {
          return {outcome::ok, render_current()};
        } else if constexpr (std::is_same_v<T, create_user_request>) {
          return failure(conflict("user '" + state.u.id + "' already exists"));
        } else if constexpr (std::is_same_v<T, patch_user_request>) {
          if (auto patched = core::patch_user(state, r, rules_); !patched)
            return failure(patched.error());
          out.changed = true;
          return {outcome::ok, render_current()};
        } else if constexpr (std::is_same_v<T, list_streams_request>) {
          core::expire(state, now_ms_, rules_, out);
          return {outcome::ok, encode_streams(state.streams)};
        } else if constexpr (std::is_same_v<T, snapshot_request>) {
          core::expire(state, now_ms_, rules_, out);
          return {outcome::ok, encode_snapshot(state.u.id, state.streams,
                                               core::limit_of(state.u, rules_), epoch(), state.seq)};
        } else if constexpr (std::is_same_v<T, rotate_token_request>) {
          core::rotate_token(state, r.token_hash, now_ms_, out);
          return {outcome::ok, render_current()};
        } else if constexpr (std::is_same_v<T, delete_user_request>) {
          core::delete_user(state, now_ms_, rules_, out);
          return {outcome::no_content, {}};
        } else if constexpr (std::is_same_v<T, authenticate_request>) {
          // A user without a token (the demo catalog's) matches no token.
          if (state.u.token_hash.empty() || !same_digest(state.u.token_hash, r.token_hash))
            return failure(error{error_code::forbidden,
                                 "the token does not belong to user '" + state.u.id + "'"});
          return {outcome::ok, "{}"};
        } else {
          return failure(error{error_code::internal, "not an op of one user"});
        }
      },
      body);
}

// Users are loaded in id order a chunk at a time until the page is full, so a page costs about
// its own size in store reads, not every user's (docs/design.md §3). A name filter may skip many
// users, so its chunks are larger.
reply decider::list_users(const list_users_request& r) {
  const std::vector<std::string> ids = store_.user_ids();  // sorted
  auto next = r.after ? std::upper_bound(ids.begin(), ids.end(), *r.after) : ids.begin();
  const auto wanted = static_cast<std::size_t>(r.limit);
  const auto chunk = static_cast<std::ptrdiff_t>(
      r.name_filter.empty() ? wanted : std::max<std::size_t>(wanted, 1000));
  // Copies, reserved once: a later chunk's load may start a shared store's cache over, which
  // would leave pointers into the cache dangling.
  std::vector<user> users;
  users.reserve(wanted);
  std::vector<user_row> rows;
  rows.reserve(wanted);
  while (next != ids.end() && rows.size() < wanted) {
    const auto end = next + std::min(chunk, ids.end() - next);
    load(std::vector<std::string>(next, end), !store_.exclusive());
    for (; next != end && rows.size() < wanted; ++next) {
      const auto cached = cache_.find(*next);
      if (cached == cache_.end() || !contains_ignoring_case(cached->second.u.name, r.name_filter))
        continue;
      const core::user_state& s = cached->second;
      users.push_back(s.u);
      rows.push_back({&users.back(), core::limit_of(s.u, rules_), core::policy_of(s.u, rules_),
                      static_cast<int>(std::count_if(
                          s.streams.begin(), s.streams.end(),
                          [&](const stream& x) { return x.expires_at_ms > now_ms_; }))});
    }
  }
  return {outcome::ok, encode_users(rows)};
}

reply decider::global(const request_body& body) {
  return std::visit(
      [&](const auto& r) -> reply {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, list_users_request>) {
          return list_users(r);
        } else if constexpr (std::is_same_v<T, list_videos_request>) {
          std::vector<const video*> all;
          for (const video& v : catalog_.videos) all.push_back(&v);
          return {outcome::ok, encode_videos(all)};
        } else if constexpr (std::is_same_v<T, get_video_request>) {
          if (const video* v = find_video(r.video_id)) return {outcome::ok, encode_video(*v)};
          return failure(not_found("video '" + r.video_id + "' not found"));
        } else if constexpr (std::is_same_v<T, list_plans_request>) {
          return {outcome::ok, encode_plans(catalog_.plans)};
        } else if constexpr (std::is_same_v<T, list_events_request>) {
          load({r.user_id}, !store_.exclusive());
          if (!cache_.contains(r.user_id)) return unknown_user(r.user_id);
          return {outcome::ok, encode_audit_events(store_.recent_audit(r.user_id, r.limit))};
        } else if constexpr (std::is_same_v<T, get_request_request>) {
          // After the commit, so a start decided in this very batch is found.
          const auto owner = store_.request_owner(r.request_id);
          const reply unknown = failure(not_found("request '" + r.request_id + "' not found"));
          // Another user's request is answered like an unknown one, so its id leaks nothing.
          if (!owner || (r.owner_id && *r.owner_id != *owner)) return unknown;
          load({*owner}, !store_.exclusive());
          const auto cached = cache_.find(*owner);
          if (cached == cache_.end()) return unknown;
          const core::remembered_start* found = core::find_start(cached->second, r.request_id);
          if (!found) return unknown;
          const verdict v = core::verdict_of(cached->second, *found);
          return {outcome::ok, encode_verdict_body(v),
                  v.allowed && v.granted ? grant_if_live(cached->second, v.granted->stream_id)
                                         : std::string()};
        } else if constexpr (std::is_same_v<T, ping_request>) {
          return {outcome::ok, "{}"};
        } else {
          return failure(error{error_code::internal, "not a global op"});
        }
      },
      body);
}

}  // namespace streamgate
