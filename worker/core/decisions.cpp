#include "worker/core/decisions.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "worker/core/list_aids.hpp"

namespace streamgate::core {

namespace {

// A negative limit cannot come through create_user / patch_user; clamping keeps a corrupt state
// from turning into a huge unsigned limit.
std::size_t as_size(int limit) { return static_cast<std::size_t>(std::max(limit, 0)); }

// Every published event takes the user's next number, so an api that misses one sees the gap.
void publish(user_state& state, effects& out,
             std::variant<verdict, ended_event, access_revoked> what) {
  out.events.push_back(event{std::move(what), ++state.seq});
  out.changed = true;  // seq is part of the state: a published event must be committed
}

// The event and the audit line of one ending; the caller removes the stream from the list.
void record_end(user_state& state, const stream& s, end_reason reason, std::int64_t now_ms,
                effects& out) {
  publish(state, out, ended_event{s.stream_id, state.u.id, reason});
  audit_entry& line = out.audit.emplace_back();
  line.user_id = state.u.id;
  line.at_ms = now_ms;
  line.type = std::string(to_string(reason));
  line.stream_id = s.stream_id;
  line.video_id = s.video_id;
  if (reason == end_reason::expired) ++out.expired;
  if (reason == end_reason::evicted) ++out.evicted;
}

void end_at(user_state& state, std::size_t index, end_reason reason, std::int64_t now_ms,
            effects& out) {
  record_end(state, state.streams[index], reason, now_ms, out);
  aids::remove(state.streams, state.aids.sessions, index, 1);
}

void end_all(user_state& state, end_reason reason, std::int64_t now_ms, effects& out) {
  for (const stream& s : state.streams) record_end(state, s, reason, now_ms, out);
  state.streams.clear();
  state.aids.sessions.clear();
}

// Lower the bounds of settle()'s passes (list_aids) for a lease or a start just made. A renewed
// lease too: a clock that stepped back can renew one to end sooner than it did.
void lease_ends_at(user_state& state, std::int64_t expires_at_ms) {
  state.aids.leases_end_from_ms = std::min(state.aids.leases_end_from_ms, expires_at_ms);
}
void start_decided_at(user_state& state, std::int64_t decided_at_ms) {
  state.aids.starts_decided_from_ms = std::min(state.aids.starts_decided_from_ms, decided_at_ms);
}

// Runs before every decision, so a lapsed lease never counts against the limit nor takes a
// heartbeat, whether or not an expiry pass ran since it lapsed. Each list is passed over only
// once `now` reaches its bound (list_aids), which the pass then sets again.
void settle(user_state& state, std::int64_t now_ms, const rules& r, effects& out) {
  constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();
  list_aids& a = state.aids;
  if (now_ms >= a.leases_end_from_ms) {
    const auto lapsed = [now_ms](const stream& s) { return s.expires_at_ms <= now_ms; };
    for (const stream& s : state.streams)
      if (lapsed(s)) record_end(state, s, end_reason::expired, now_ms, out);
    aids::remove_if(state.streams, a.sessions, lapsed);
    a.leases_end_from_ms = next_expiry(state).value_or(never);
  }

  // Not only the front: starts are appended in decision order, but a clock that stepped back
  // can leave a later start with an earlier time. Not a change to commit: the store keeps starts
  // beside the state and drops them past the same window itself.
  if (now_ms - r.request_memory_ms >= a.starts_decided_from_ms) {
    aids::remove_if(state.starts, a.requests, [&](const remembered_start& s) {
      return s.decided_at_ms + r.request_memory_ms <= now_ms;
    });
    a.starts_decided_from_ms = never;
    for (const remembered_start& s : state.starts) start_decided_at(state, s.decided_at_ms);
  }
}

std::vector<stream>::iterator find_live(user_state& state, const std::string& stream_id) {
  return std::find_if(state.streams.begin(), state.streams.end(),
                      [&](const stream& s) { return s.stream_id == stream_id; });
}

error unknown_stream(const std::string& stream_id) {
  return not_found("unknown stream '" + stream_id + "'");
}

// The checks create_user and patch_user share; the decoders bound the rest (name length, ...).
std::optional<error> check_user_fields(const std::optional<int>& max_streams,
                                       const std::optional<std::string>& plan_id, const rules& r) {
  if (max_streams && (*max_streams < 0 || *max_streams > max_streams_ceiling)) {
    return bad_request("maxStreams " + std::to_string(*max_streams) + " is outside 0.." +
                       std::to_string(max_streams_ceiling));
  }
  if (plan_id && std::none_of(r.plans.begin(), r.plans.end(),
                              [&](const plan& p) { return p.id == *plan_id; })) {
    return bad_request("unknown plan '" + *plan_id + "'");
  }
  return std::nullopt;
}

// What a replay needs to rebuild the verdict, without the streams list: a denial shows the
// streams in use at replay time instead, which keeps a user's request memory small.
remembered_start remembered_of(const verdict& v) {
  remembered_start kept;
  kept.request_id = v.request_id;
  kept.video_id = v.video_id;
  kept.session_id = v.session_id;
  kept.decided_at_ms = v.decided_at_ms;
  kept.allowed = v.allowed;
  kept.over_limit = v.over_limit;
  if (v.granted) {
    kept.stream_id = v.granted->stream_id;
    kept.expires_at_ms = v.granted->expires_at_ms;
  }
  kept.reason = v.reason;
  kept.active = v.active;
  kept.limit = v.limit;
  return kept;
}

// `request_print`: the fingerprint of v.request_id, as start() took it for its lookup.
void remember(user_state& state, const verdict& v, std::uint64_t request_print, const rules& r,
              effects& out) {
  out.remembered.push_back(remembered_of(v));
  aids::append(state.starts, state.aids.requests, request_print) = out.remembered.back();
  start_decided_at(state, v.decided_at_ms);
  if (state.starts.size() > with_slack(r.max_remembered_starts))
    aids::remove(state.starts, state.aids.requests, 0,
                 state.starts.size() - r.max_remembered_starts);
}

void audit_verdict(const user_state& state, const verdict& v, std::int64_t now_ms, effects& out) {
  audit_entry& line = out.audit.emplace_back();
  line.user_id = state.u.id;
  line.at_ms = now_ms;
  line.type = v.allowed ? "allowed" : "denied";
  if (v.granted) line.stream_id = v.granted->stream_id;
  line.request_id = v.request_id;
  line.video_id = v.video_id;
  // An allowed start carries no reason, except the one the monitor policy let through: that is
  // what a rollout in shadow mode reads the trail for.
  line.reason = v.over_limit ? "over_limit" : v.reason;
}

}  // namespace

const plan* plan_of(const user& u, const rules& r) {
  if (!u.plan) return nullptr;
  const auto found =
      std::find_if(r.plans.begin(), r.plans.end(), [&](const plan& p) { return p.id == *u.plan; });
  return found == r.plans.end() ? nullptr : &*found;
}

int limit_of(const user& u, const rules& r) {
  if (u.max_streams) return *u.max_streams;
  if (const plan* p = plan_of(u, r)) return p->max_streams;
  return r.default_max_streams;
}

policy policy_of(const user& u, const rules& r) {
  if (u.policy_override) return *u.policy_override;
  if (const plan* p = plan_of(u, r)) return p->limit_policy;
  return r.default_policy;
}

start_result start(user_state& state, const start_request& request, bool video_known,
                   const std::string& new_stream_id, std::int64_t now_ms, const rules& r,
                   effects& out) {
  settle(state, now_ms, r, out);

  const std::uint64_t request_print = aids::fingerprint(request.request_id);
  if (const std::size_t known = aids::find(state.starts, &remembered_start::request_id,
                                           state.aids.requests, request.request_id, request_print);
      known != state.starts.size()) {
    // Published again so a client that missed the first push gets it; decided and audited once.
    start_result replay{verdict_of(state, state.starts[known], now_ms), true};
    publish(state, out, replay.v);
    ++out.replayed;
    return replay;
  }

  verdict v;
  v.request_id = request.request_id;
  v.user_id = state.u.id;
  v.video_id = request.video_id;
  v.session_id = request.session_id;
  v.limit = limit_of(state.u, r);
  v.decided_at_ms = now_ms;

  const auto deny = [&](const char* reason) {
    v.reason = reason;
    v.streams = state.streams;
  };
  const auto allow = [&](const stream& s) {
    v.allowed = true;
    v.granted = s;
  };

  // An empty sessionId never matches: each such start is a playback of its own.
  const std::uint64_t session_print = aids::fingerprint(request.session_id);
  const auto same_session =
      request.session_id.empty()
          ? state.streams.end()
          : state.streams.begin() + static_cast<std::ptrdiff_t>(aids::find(
                                        state.streams, &stream::session_id, state.aids.sessions,
                                        request.session_id, session_print));

  if (!video_known) {
    deny("unknown_video");
  } else if (same_session != state.streams.end()) {
    // A reload or a retry of a playback that runs: activity, so the lease is renewed too.
    same_session->expires_at_ms = now_ms + r.lease_ms;
    lease_ends_at(state, same_session->expires_at_ms);
    out.renewed.push_back(same_session->stream_id);
    allow(*same_session);
  } else {
    const std::size_t max = as_size(v.limit);
    const policy p = policy_of(state.u, r);
    // Evicting under a limit of 0 would end streams and still deny. More than one stream ends
    // when the limit was lowered since they started.
    if (state.streams.size() >= max && max > 0 && p == policy::evict_oldest) {
      while (state.streams.size() >= max) end_at(state, 0, end_reason::evicted, now_ms, out);
    }
    if (state.streams.size() < max || p == policy::monitor) {
      v.over_limit = state.streams.size() >= max;
      if (v.over_limit) ++out.over_limit;
      stream& added = aids::append(state.streams, state.aids.sessions, session_print);
      added.stream_id = new_stream_id;
      added.user_id = state.u.id;
      added.video_id = request.video_id;
      added.session_id = request.session_id;
      added.started_at_ms = now_ms;
      added.expires_at_ms = now_ms + r.lease_ms;
      lease_ends_at(state, added.expires_at_ms);
      out.started.push_back(new_stream_id);
      allow(added);
    } else {
      deny("limit_reached");
    }
  }
  v.active = static_cast<int>(state.streams.size());
  if (v.allowed) {
    ++out.allowed;
  } else {
    ++out.denied;
  }
  // A start that took the last or the next-to-last slot, or was refused at the limit: users
  // about to meet the limit, for capacity planning (docs/design.md §11).
  if (v.limit > 0 && v.active >= v.limit - 1) ++out.near_limit;

  audit_verdict(state, v, now_ms, out);
  remember(state, v, request_print, r, out);
  publish(state, out, v);
  return start_result{std::move(v), false};
}

result<std::int64_t> heartbeat(user_state& state, const std::string& stream_id, std::int64_t now_ms,
                               const rules& r, effects& out) {
  settle(state, now_ms, r, out);
  const auto found = find_live(state, stream_id);
  if (found == state.streams.end()) return unknown_stream(stream_id);
  found->expires_at_ms = now_ms + r.lease_ms;
  lease_ends_at(state, found->expires_at_ms);
  out.renewed.push_back(stream_id);
  out.changed = true;
  return found->expires_at_ms;
}

result<void> stop(user_state& state, const std::string& stream_id, std::int64_t now_ms,
                  const rules& r, effects& out) {
  settle(state, now_ms, r, out);
  const auto found = find_live(state, stream_id);
  if (found == state.streams.end()) return unknown_stream(stream_id);
  end_at(state, static_cast<std::size_t>(std::distance(state.streams.begin(), found)),
         end_reason::stopped, now_ms, out);
  return {};
}

int stop_all(user_state& state, std::int64_t now_ms, const rules& r, effects& out) {
  settle(state, now_ms, r, out);
  const int ended = static_cast<int>(state.streams.size());
  end_all(state, end_reason::stop_all, now_ms, out);
  return ended;
}

void rotate_token(user_state& state, const std::string& token_hash, std::int64_t now_ms,
                  effects& out) {
  state.u.token_hash = token_hash;
  publish(state, out, access_revoked{state.u.id});
  audit_entry& line = out.audit.emplace_back();
  line.user_id = state.u.id;
  line.at_ms = now_ms;
  line.type = "token_rotated";
}

int delete_user(user_state& state, std::int64_t now_ms, const rules& r, effects& out) {
  settle(state, now_ms, r, out);
  const int ended = static_cast<int>(state.streams.size());
  end_all(state, end_reason::deleted, now_ms, out);
  publish(state, out, access_revoked{state.u.id});
  out.removed = true;
  return ended;
}

void expire(user_state& state, std::int64_t now_ms, const rules& r, effects& out) {
  settle(state, now_ms, r, out);
}

std::optional<std::int64_t> next_expiry(const user_state& state) {
  if (state.streams.empty()) return std::nullopt;
  return std::min_element(
             state.streams.begin(), state.streams.end(),
             [](const stream& a, const stream& b) { return a.expires_at_ms < b.expires_at_ms; })
      ->expires_at_ms;
}

result<user_state> create_user(const create_user_request& request, const std::string& id,
                               const rules& r) {
  if (auto refused = check_user_fields(request.max_streams, request.plan, r)) return *refused;
  user_state created;
  created.u = user{id,
                   request.name,
                   request.max_streams,
                   request.policy_override,
                   request.plan,
                   request.token_hash.value_or("")};
  return created;
}

result<void> patch_user(user_state& state, const patch_user_request& request, const rules& r) {
  // Checked before anything is applied, so a refused patch leaves the user as it was.
  if (auto refused = check_user_fields(request.max_streams, request.plan, r)) return *refused;
  user& u = state.u;
  // Only the limit of later starts changes: running streams keep playing (no eviction here).
  if (request.name) u.name = *request.name;
  if (request.max_streams) u.max_streams = request.max_streams;
  if (request.policy_override) u.policy_override = request.policy_override;
  if (request.plan) u.plan = request.plan;
  return {};
}

verdict verdict_of(const user_state& state, const remembered_start& remembered,
                   std::int64_t now_ms) {
  verdict v;
  v.request_id = remembered.request_id;
  v.user_id = state.u.id;
  v.video_id = remembered.video_id;
  v.session_id = remembered.session_id;
  v.allowed = remembered.allowed;
  if (remembered.allowed) {
    // The stream as it stands. A remembered start keeps no start time of its own: a session
    // renewal granted a stream that began earlier, so while that stream runs it tells when, and
    // its lease as heartbeats left it; after it ended, the decision time is the best left (an
    // ordinary start's stream began then anyway), and a lease over by now at the latest, so a
    // replay published again does not show a stopped stream as running (docs/design.md §4).
    const auto live =
        std::find_if(state.streams.begin(), state.streams.end(),
                     [&](const stream& s) { return s.stream_id == remembered.stream_id; });
    const bool running = live != state.streams.end();
    v.granted = stream{remembered.stream_id,
                       state.u.id,
                       remembered.video_id,
                       remembered.session_id,
                       running ? live->started_at_ms : remembered.decided_at_ms,
                       running ? live->expires_at_ms : std::min(remembered.expires_at_ms, now_ms)};
  } else {
    v.streams = state.streams;
  }
  v.active = remembered.active;
  v.limit = remembered.limit;
  v.reason = remembered.reason;
  v.over_limit = remembered.over_limit;
  v.decided_at_ms = remembered.decided_at_ms;
  return v;
}

const remembered_start* find_start(const user_state& state, const std::string& request_id) {
  const std::size_t found =
      aids::find(state.starts, &remembered_start::request_id, state.aids.requests, request_id,
                 aids::fingerprint(request_id));
  return found == state.starts.size() ? nullptr : &state.starts[found];
}

}  // namespace streamgate::core
