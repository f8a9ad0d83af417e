// The ops of no one user, answered after the batch's commit so they see what it decided: the
// user listing, the catalog, a user's audit events and the verdict of a request id.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <variant>

#include "worker/server/decider.hpp"

namespace streamgate {

namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
bool contains_ignoring_case(std::string_view text, std::string_view needle) {
  return needle.empty() ||
         std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                     [](char a, char b) { return ascii_lower(a) == ascii_lower(b); }) != text.end();
}

}  // namespace

// Users are loaded in id order a chunk at a time until the page is full, so a page costs about
// its own size in store reads, not every user's (docs/design.md §3). A name filter may skip many
// users, so its chunks are larger.
reply decider::list_users(const list_users_request& r) {
  const std::vector<std::string> ids = store_.user_ids();  // sorted
  auto next = r.after ? std::upper_bound(ids.begin(), ids.end(), *r.after) : ids.begin();
  const auto wanted = static_cast<std::size_t>(r.limit);
  const auto chunk = static_cast<std::ptrdiff_t>(
      r.name_filter.empty() ? wanted : std::max<std::size_t>(wanted, 1000));
  std::vector<user_view> rows;
  rows.reserve(wanted);
  while (next != ids.end() && rows.size() < wanted) {
    const auto end = next + std::min(chunk, ids.end() - next);
    if (load(std::vector<std::string>(next, end), !store_.exclusive()) > 0)
      throw store_unavailable("a user of the page cannot be reached");
    for (; next != end && rows.size() < wanted; ++next) {
      const auto cached = cache_.find(*next);
      if (cached == cache_.end() ||
          !contains_ignoring_case(cached->second.state.u.name, r.name_filter))
        continue;
      const core::user_state& s = cached->second.state;
      rows.push_back(
          {s.u, core::limit_of(s.u, rules_), core::policy_of(s.u, rules_),
           static_cast<int>(std::count_if(s.streams.begin(), s.streams.end(), [&](const stream& x) {
             return x.expires_at_ms > now_ms_;
           }))});
    }
  }
  return {outcome::ok, std::move(rows)};
}

// A store that fails here fails only this op: the batch's decisions are committed already.
reply decider::global(const request_body& body) try {
  return std::visit(
      [&](const auto& r) -> reply {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, list_users_request>) {
          return list_users(r);
        } else if constexpr (std::is_same_v<T, list_videos_request>) {
          return {outcome::ok, catalog_.videos};
        } else if constexpr (std::is_same_v<T, get_video_request>) {
          if (const video* v = find_video(r.video_id)) return {outcome::ok, *v};
          return failure(not_found("video '" + r.video_id + "' not found"));
        } else if constexpr (std::is_same_v<T, list_plans_request>) {
          return {outcome::ok, catalog_.plans};
        } else if constexpr (std::is_same_v<T, list_events_request>) {
          if (load({r.user_id}, !store_.exclusive()) > 0)
            throw store_unavailable("the user cannot be reached");
          if (!cache_.contains(r.user_id)) return unknown_user(r.user_id);
          return {outcome::ok, store_.recent_audit(r.user_id, r.limit)};
        } else if constexpr (std::is_same_v<T, get_request_request>) {
          // After the commit, so a start decided in this very batch is found.
          const auto owner = store_.request_owner(r.request_id);
          const reply unknown = failure(not_found("request '" + r.request_id + "' not found"));
          // Another user's request is answered like an unknown one, so its id leaks nothing.
          if (!owner || (r.owner_id && *r.owner_id != *owner)) return unknown;
          if (load({*owner}, !store_.exclusive()) > 0)
            throw store_unavailable("the request's user cannot be reached");
          const auto cached = cache_.find(*owner);
          if (cached == cache_.end()) return unknown;
          const core::user_state& state = cached->second.state;
          const core::remembered_start* found = core::find_start(state, r.request_id);
          if (!found) return unknown;
          const verdict v = core::verdict_of(state, *found, now_ms_);
          std::string grant =
              v.allowed && v.granted ? grant_if_live(state, v.granted->stream_id) : std::string();
          return {outcome::ok, v, std::move(grant)};
        } else {
          return failure(error{error_code::internal, "not a global op"});
        }
      },
      body);
} catch (const store_unavailable& e) {
  // The router names the server that failed in its log; the client learns only to retry.
  spdlog::debug("a read answered unavailable: {}", e.what());
  return failure(error{error_code::unavailable, "the store cannot be reached; retry"});
}

}  // namespace streamgate
