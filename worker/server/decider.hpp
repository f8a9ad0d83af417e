#pragma once

// Decides a batch of requests with the decision core against a store (docs/design.md, "Path of a
// start"): load the users the batch needs (and the store's time), decide each user's requests in
// order on a copy of its state, commit every changed user in one store call, and only then hand
// back the replies and the events. A user whose commit met a newer version (another worker
// committed first) is reloaded and decided again, after a random pause, for up to two seconds;
// its requests are answered 503 after that, never with a decision that was not committed.
//
// It knows no ZeroMQ (worker_loop does), no store kind and no client JSON: replies and events are
// typed (common/worker_replies.hpp), so every op's mapping is tested without sockets, and the api
// renders them (docs/design.md §10).
//
// Its parts: decider.cpp (the cache, the conflict rounds), decider_batch.cpp (grouping, one try
// at a group, handing back), decider_user_ops.cpp and decider_global_ops.cpp (the ops' replies).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <queue>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "common/messages.hpp"
#include "common/worker_replies.hpp"
#include "worker/core/decisions.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

struct reply {
  outcome status = outcome::ok;
  reply_body body{};
  std::string playback{};  // encode_playback_note, or empty (common/messages.hpp)
};

// One event as it leaves on the PUB socket: [topic][body][sequence][playback note, if any].
struct published_event {
  std::string topic;     // the userId
  event_body body;       // common/wire/worker_codec encodes it
  std::string sequence;  // "<dataset id> <seq>" (common/messages.hpp)
  std::string playback{};
};

// How many users' states a worker keeps (docs/design.md §10): memory follows the users in use,
// not every user stored.
struct cache_bounds {
  // At most this many, besides those with live streams.
  std::size_t most_users = 200'000;
  // How long a state sits unused before it may leave: on SQLite its records have long been
  // folded into the tables by then (a fold runs at least every second, docs/design.md §8), so
  // reading it back waits for no fold.
  std::int64_t idle_ms = 60'000;
};

// This host's wall clock in milliseconds, which the apis' deadlines are read against; tests
// inject one.
using wall_clock = std::function<std::int64_t()>;

class decider final {
 public:
  decider(store& s, core::rules rules, cache_bounds bounds = {}, wall_clock wall = nullptr);

  // Decides `requests` (stats excluded by the caller) and the expiry of `due_users`; `replies`
  // gets one reply per request, in order. `deadlines` (wall-clock ms, 0 for none; empty for
  // none at all), parallel to `requests`, are when each request's api gave up on it: a request
  // about one user that is still undecided then is refused (503), never decided. Throws
  // store_unavailable when the store could not be reached: then nothing of the batch may be told
  // (the caller answers 503) and states cached before stay valid (a commit whose outcome is
  // unknown is caught by the version check). When only one server of the store could not be
  // reached (a Cluster master), only the requests that need it are answered 503, the same way.
  void decide(const std::vector<request_body>& requests, std::span<const std::int64_t> deadlines,
              const std::vector<std::string>& due_users, std::vector<reply>& replies,
              std::vector<published_event>& events);

  // The users with a lease due now: those this worker committed or loaded (its own heap, exact
  // and cheap), and what the store's lease index names (on Redis a slow sweep over its slots,
  // which finds the users of a worker that died). Asked about every 100 ms by the loop.
  std::vector<std::string> due_users();

  const decision_counters& counters() const { return counters_; }
  std::size_t cached_users() const { return cache_.size(); }
  // Entries in the heap of lease expiries this worker keeps on a shared store (stale ones too).
  std::size_t queued_expiries() const { return lease_heap_.size(); }
  // Live streams of all users: the cache's sum on an exclusive store, else the store's total.
  std::optional<std::uint64_t> active_streams();
  const std::string& epoch() const { return store_.dataset_id(); }

 private:
  // decider_batch.hpp
  struct user_group;
  struct attempt;
  struct batch;
  struct cached_user;

  // decider.cpp: the cache and the conflict rounds of decide().
  // Returns how many of the users could not be reached (loaded_users::unreachable_users): they
  // leave the cache, and they and the request ids not reached are noted for refuse_unreachable.
  std::size_t load(const std::vector<std::string>& user_ids, bool fresh,
                   const std::vector<std::string>& request_ids = {});
  // A state as loaded (its next lease expiry found here), or as a try left it (found already).
  cached_user& cache(core::user_state state);
  cached_user& cache(core::user_state state, std::optional<std::int64_t> next_expiry);
  // Puts `user_id` in the lease heap at `at` unless its entry there comes sooner.
  void queue_expiry(const std::string& user_id, std::int64_t at);
  // Past the cache's bound: the states unused for a while that have no live stream leave.
  void trim_cache();

  // decider_batch.cpp: a batch's groups and their one load, one try at a group, and what a
  // committed try hands back.
  static batch group_batch(const std::vector<request_body>& requests,
                           const std::vector<std::string>& due_users);
  void load_batch(const batch& b);
  // Drops from `pending` the requests past their deadline, answered 503, and the groups left
  // with nothing to decide.
  void refuse_late(batch& b, std::vector<std::size_t>& pending,
                   std::span<const std::int64_t> deadlines, std::vector<reply>& replies) const;
  // Drops from `pending` the requests of users, and the starts naming request ids, that the store
  // could not reach (one Cluster master down), answered 503, and the groups left with nothing.
  void refuse_unreachable(batch& b, std::vector<std::size_t>& pending,
                          std::vector<reply>& replies) const;
  // Decides the group's requests on its state, taken out of the cache; appends the commit of a
  // changed state to `commits` and says whether it did.
  bool decide_group(const batch& b, const user_group& group, attempt& a,
                    std::vector<user_commit>& commits);
  // A try that committed nothing on a copy this batch did not read from a shared store: decided
  // again on a fresh read.
  bool unchecked(const user_group& group, const attempt& a) const;
  // A committed (or unchanged) try: its replies, events and counts, and its state cached again.
  void hand_back(const user_group& group, attempt& a, std::vector<reply>& replies,
                 std::vector<published_event>& events);

  // decider_user_ops.cpp: the ops on one user, and the replies they render.
  static reply failure(const error& e);
  static reply unknown_user(const std::string& id);
  // Shows the users a group created once all its requests ran, so a reply shows the user as the
  // group left it (a create then a patch in one batch).
  void show_created(const user_group& group, attempt& a) const;
  user_view view_of(const core::user_state& state) const;
  const video* find_video(std::string_view id) const;
  // The grant note of `stream_id` when it is live in `state` now, else empty: a replayed or
  // looked-up verdict of a stream that ended since must not yield a playback token.
  std::string grant_if_live(const core::user_state& state, const std::string& stream_id) const;
  reply decide_one(const request_body& body, core::user_state& state, attempt& a);

  // decider_global_ops.cpp: the ops of no one user, answered after the batch's commit.
  reply global(const request_body& body);
  reply list_users(const list_users_request& r);

  store& store_;
  core::rules rules_;
  wall_clock wall_ms_;
  dataset_catalog catalog_;
  // Each state with its next lease expiry (core::next_expiry), kept so that neither a decision nor
  // the expiry pass walks every stream of a user to find it again.
  struct cached_user {
    core::user_state state;
    std::optional<std::int64_t> next_expiry;
    std::int64_t used_at_ms;  // the store's time when it was last loaded or decided on
    std::uint64_t read_in_batch = 0;  // batches_ when it was read from the store
  };
  std::unordered_map<std::string, cached_user> cache_;
  const cache_bounds bounds_;
  std::size_t trim_above_;
  // (next lease expiry, user) of cached states on a shared store, whose own index is only swept
  // slowly. A user has one entry that counts, at the time `lease_entry_at_` names: a renewal
  // leaves it, and when it comes due the cached state says whether the user is due or when to
  // look again. So the heap holds about one entry per user, not one per decision for a lease's
  // length (a soak on Redis grew the worker by 60 MB in three minutes that way). An entry at
  // another time is stale (a sooner one was pushed) and is dropped when it comes up.
  std::priority_queue<std::pair<std::int64_t, std::string>,
                      std::vector<std::pair<std::int64_t, std::string>>, std::greater<>>
      lease_heap_;
  std::unordered_map<std::string, std::int64_t> lease_entry_at_;
  std::int64_t now_ms_ = 0;
  std::uint64_t batches_ = 0;  // decide()'s calls so far: which cached states this batch read
  // The batch's start request ids and the user each already belongs to (none: new), and those
  // the batch's decisions so far took.
  std::unordered_map<std::string, std::string> request_owners_;
  // The batch's users and start request ids whose store server could not be reached.
  std::unordered_set<std::string> unreachable_users_;
  std::unordered_set<std::string> unreachable_requests_;
  decision_counters counters_;
  // Draws the pause before a user whose commit conflicted is decided again.
  std::minstd_rand jitter_{std::random_device{}()};
};

}  // namespace streamgate
