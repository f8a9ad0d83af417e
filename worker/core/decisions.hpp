#pragma once

// The decision core: every rule of streamgate, as functions of one user's state and the time
// (docs/design.md, "Decision core"). It is the only place these rules exist; the SQLite and
// Redis stores only load and commit the state it changes, and the worker loop only calls it.
//
// Each decision changes `state` in place and appends what it produced to `effects`: the events
// to publish (numbered with the user's next seq) and the audit lines to store with the commit.
// A decision that changed nothing durable leaves effects.changed false, so nothing is committed.
// Every decision first ends the streams whose lease ran out by `now_ms` (reason expired), so a
// lapsed lease never counts against the limit nor takes a heartbeat, whether or not an expiry
// pass ran; and forgets remembered starts past their memory window (in memory only: the store
// drops them past the same window on its own).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/domain.hpp"
#include "common/error.hpp"
#include "common/messages.hpp"
#include "worker/core/user_state.hpp"

namespace streamgate::core {

// One event to publish, in decision order; seq is the user's event number it took.
struct event {
  std::variant<verdict, ended_event, access_revoked> what;
  std::uint64_t seq = 0;
};

struct effects {
  std::vector<event> events;
  std::vector<audit_entry> audit;
  // The starts decided here, in order: the store keeps them beside the state (user_state.hpp).
  std::vector<remembered_start> remembered;
  // The live streams made and those whose lease was renewed, by stream id in decision order (the
  // ended ones are the ended events). A store writes only what changed (worker/store/
  // stream_changes.hpp), so a decision costs the same however many streams the user holds.
  std::vector<std::string> started;
  std::vector<std::string> renewed;
  bool changed = false;  // the state differs from what was loaded: it must be committed
  bool removed = false;  // the user was deleted: the commit removes it from the store
  // Counters where the decision is made (docs/design.md, "Metrics").
  int allowed = 0;
  int denied = 0;
  int over_limit = 0;  // allowed under the monitor policy although at the limit
  int near_limit = 0;  // a start that left the user at one below the limit or more
  int evicted = 0;
  int expired = 0;
  int replayed = 0;

  void clear() { *this = effects{}; }
};

struct start_result {
  verdict v;
  bool replayed = false;  // the requestId was decided before: v is the original verdict again
};

// The limit and policy in force for a user: the user's own override, else the plan's, else the
// global default (docs/design.md, "Domain").
int limit_of(const user& u, const rules& r);
policy policy_of(const user& u, const rules& r);
const plan* plan_of(const user& u, const rules& r);

// A start. A requestId remembered within its window replays the original verdict (published
// again, audited once). A live stream with the same non-empty sessionId is returned with a renewed
// lease and takes no slot. An unknown video (video_known false) is denied, reason
// "unknown_video". At the limit the policy decides: deny ("limit_reached"), evict_oldest (the
// oldest streams end, reason evicted, until there is room; a limit of 0 denies), or monitor
// (allowed, over_limit set). `new_stream_id` is the id a granted stream takes (the caller makes
// ids, so the core needs no randomness).
start_result start(user_state& state, const start_request& request, bool video_known,
                   const std::string& new_stream_id, std::int64_t now_ms, const rules& r,
                   effects& out);

// Renews a live stream's lease; returns its new expiry. not_found when the user has no such live
// stream (another user's stream included: it is never seen from here).
result<std::int64_t> heartbeat(user_state& state, const std::string& stream_id,
                               std::int64_t now_ms, const rules& r, effects& out);

// Ends one stream (reason stopped). not_found when the user has no such live stream.
result<void> stop(user_state& state, const std::string& stream_id, std::int64_t now_ms,
                  const rules& r, effects& out);

// Ends every live stream of the user (reason stop_all); returns how many.
int stop_all(user_state& state, std::int64_t now_ms, const rules& r, effects& out);

// Ends lapsed leases and forgets starts past their window; what an expiry pass runs.
void expire(user_state& state, std::int64_t now_ms, const rules& r, effects& out);

// The earliest lease expiry among the live streams, for the store's lease index.
std::optional<std::int64_t> next_expiry(const user_state& state);

// A new user's state (version 0). bad_request when max_streams is out of range or the plan is
// unknown. The caller checks that the id is free (the store's commit refuses an existing user).
result<user_state> create_user(const create_user_request& request, const std::string& id,
                               const rules& r);

// Changes the name, limit, policy or plan. Running streams keep playing when the limit is
// lowered: only later starts see it (and evict_oldest then ends as many as needed).
result<void> patch_user(user_state& state, const patch_user_request& request, const rules& r);

// Replaces the user's token hash; the old token is refused from the commit on (every api hears
// the access_revoked event). Audited as "token_rotated".
void rotate_token(user_state& state, const std::string& token_hash, std::int64_t now_ms,
                  effects& out);

// Ends every live stream (reason deleted), publishes access_revoked and marks the user removed:
// its commit deletes it. Returns how many streams ended.
int delete_user(user_state& state, std::int64_t now_ms, const rules& r, effects& out);

// The verdict a remembered start stands for, rebuilt for a replay or GET /requests/{id}: an
// allowed one names its stream as it stands at now_ms (its lease over by then once it ended).
verdict verdict_of(const user_state& state, const remembered_start& remembered,
                   std::int64_t now_ms);
const remembered_start* find_start(const user_state& state, const std::string& request_id);

}  // namespace streamgate::core
