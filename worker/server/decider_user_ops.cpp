// The ops on one user: each request decided by the decision core on the user's state, and its
// typed reply (common/worker_replies.hpp), with the playback note of a stream that is live.

#include <algorithm>
#include <variant>

#include "common/ids.hpp"
#include "worker/server/decider_batch.hpp"

namespace streamgate {

namespace {

// Compares two hex digests in time that depends on their length only.
bool same_digest(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

reply decider::failure(const error& e) { return {outcome_of(e.code), e}; }
reply decider::unknown_user(const std::string& id) {
  return failure(not_found("user '" + id + "' not found"));
}

void decider::show_created(const user_group& group, attempt& a) const {
  if (!a.state) return;
  for (std::size_t g = 0; g < group.requests.size(); ++g)
    if (a.replies[g].status == outcome::created &&
        std::holds_alternative<std::monostate>(a.replies[g].body))
      a.replies[g].body = view_of(*a.state);
}

user_view decider::view_of(const core::user_state& state) const {
  return {state.u, core::limit_of(state.u, rules_), core::policy_of(state.u, rules_),
          static_cast<int>(state.streams.size())};
}

const video* decider::find_video(std::string_view id) const {
  // load_catalog() gives the videos sorted by id.
  const auto found = std::lower_bound(catalog_.videos.begin(), catalog_.videos.end(), id,
                                      [](const video& v, std::string_view x) { return v.id < x; });
  return found != catalog_.videos.end() && found->id == id ? &*found : nullptr;
}

std::string decider::grant_if_live(const core::user_state& state,
                                   const std::string& stream_id) const {
  // Newest first: a start's stream is the last one made, so a user holding many streams is not
  // read through at every start.
  for (auto s = state.streams.rbegin(); s != state.streams.rend(); ++s)
    if (s->stream_id == stream_id)
      return s->expires_at_ms > now_ms_
                 ? encode_playback_note(playback_grant{s->stream_id, s->user_id, s->video_id})
                 : std::string();
  return {};
}

reply decider::decide_one(const request_body& body, core::user_state& state, attempt& a) {
  core::effects& out = a.effects;
  const auto current_view = [&] {
    core::expire(state, now_ms_, rules_, out);
    return view_of(state);
  };
  return std::visit(
      [&](const auto& r) -> reply {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, start_request>) {
          // A requestId is one user's (docs/design.md §2), unless this user remembers it too:
          // two workers may each have decided one of two users' starts with it at once (§8), and
          // a retry then gets its own original verdict, not a 409 for a stream it holds.
          if (const auto owner = request_owners_.find(r.request_id);
              owner != request_owners_.end() && owner->second != state.u.id &&
              !core::find_start(state, r.request_id))
            return failure(conflict("requestId already used"));
          core::start_result started = core::start(state, r, find_video(r.video_id) != nullptr,
                                                   new_id("s_"), now_ms_, rules_, out);
          // Another user's start with it later in this batch is refused: the store's owner index
          // is read before the batch, so only this map knows of this decision yet. One the api
          // made can be no one else's.
          if (!r.request_id_made) request_owners_.try_emplace(r.request_id, state.u.id);
          // docs/design.md, "Bad input": an unknown video is a 404 to the caller; the denial is
          // still recorded and published, and a replay maps the same way, naming the video of
          // the decision it replays (the retry's own may differ).
          if (started.v.reason == "unknown_video")
            return failure(not_found("unknown video '" + started.v.video_id + "'"));
          if (!started.v.allowed) return {outcome::denied, std::move(started.v)};
          std::string grant =
              started.v.granted ? grant_if_live(state, started.v.granted->stream_id) : "";
          return {outcome::allowed, std::move(started.v), std::move(grant)};
        } else if constexpr (std::is_same_v<T, heartbeat_request>) {
          auto expires = core::heartbeat(state, r.stream_id, now_ms_, rules_, out);
          if (!expires) return failure(expires.error());
          return {outcome::ok, lease{*expires}, grant_if_live(state, r.stream_id)};
        } else if constexpr (std::is_same_v<T, stop_request>) {
          auto stopped = core::stop(state, r.stream_id, now_ms_, rules_, out);
          if (!stopped) return failure(stopped.error());
          return {outcome::no_content, {}};
        } else if constexpr (std::is_same_v<T, stop_all_request>) {
          core::stop_all(state, now_ms_, rules_, out);
          return {outcome::no_content, {}};
        } else if constexpr (std::is_same_v<T, get_user_request>) {
          return {outcome::ok, current_view()};
        } else if constexpr (std::is_same_v<T, create_user_request>) {
          return failure(conflict("user '" + state.u.id + "' already exists"));
        } else if constexpr (std::is_same_v<T, patch_user_request>) {
          if (auto patched = core::patch_user(state, r, rules_); !patched)
            return failure(patched.error());
          out.changed = true;
          return {outcome::ok, current_view()};
        } else if constexpr (std::is_same_v<T, list_streams_request>) {
          core::expire(state, now_ms_, rules_, out);
          return {outcome::ok, state.streams};
        } else if constexpr (std::is_same_v<T, snapshot_request>) {
          core::expire(state, now_ms_, rules_, out);
          return {outcome::ok, user_snapshot{state.u.id, state.streams,
                                             core::limit_of(state.u, rules_), epoch(), state.seq}};
        } else if constexpr (std::is_same_v<T, rotate_token_request>) {
          core::rotate_token(state, r.token_hash, now_ms_, out);
          return {outcome::ok, current_view()};
        } else if constexpr (std::is_same_v<T, delete_user_request>) {
          core::delete_user(state, now_ms_, rules_, out);
          return {outcome::no_content, {}};
        } else if constexpr (std::is_same_v<T, authenticate_request>) {
          // A user without a token (the demo catalog's) matches no token.
          if (state.u.token_hash.empty() || !same_digest(state.u.token_hash, r.token_hash))
            return failure(error{error_code::forbidden,
                                 "the token does not belong to user '" + state.u.id + "'"});
          return {outcome::ok, std::monostate{}};
        } else {
          return failure(error{error_code::internal, "not an op of one user"});
        }
      },
      body);
}

}  // namespace streamgate
