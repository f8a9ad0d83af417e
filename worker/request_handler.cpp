#include "worker/request_handler.hpp"

#include <string_view>
#include <variant>
#include <vector>

#include "common/codec.hpp"

namespace streamgate {

namespace {

reply failure(const error& e) { return {outcome_of(e.code), encode_error(e)}; }

// Compares two hex digests in time that depends on their length only. Comparing hashes leaks
// little even with memcmp (a guess's hash tells nothing of a token), but it costs nothing.
bool same_digest(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

reply unknown_user(const std::string& user_id) {
  return failure(not_found("user '" + user_id + "' not found"));
}

// One overload per op; std::visit picks it, so a new op without a mapping does not compile.
class op_handler final {
 public:
  op_handler(stream_limiter& limiter, instant at, const audit_reader* audit)
      : limiter_(limiter), at_(at), audit_(audit) {}

  reply operator()(const start_request& r) const {
    auto started = limiter_.start(r, at_);
    if (!started) return failure(started.error());
    const verdict& v = *started->v;
    // DESIGN section 5: an unknown video is a 404 to the caller. The limiter still records and
    // publishes the denial (a WebSocket client learns of it), and a replay maps the same way.
    if (v.reason == "unknown_video")
      return failure(not_found("unknown video '" + v.video_id + "'"));
    return {v.allowed ? outcome::allowed : outcome::denied, encode_verdict_body(v)};
  }

  reply operator()(const heartbeat_request& r) const {
    auto expires_at = limiter_.heartbeat(r.user_id, r.stream_id, at_);
    if (!expires_at) return failure(expires_at.error());
    return {outcome::ok, encode_heartbeat_body(*expires_at)};
  }

  reply operator()(const stop_request& r) const {
    auto stopped = limiter_.stop(r.user_id, r.stream_id);
    if (!stopped) return failure(stopped.error());
    return {outcome::no_content, {}};
  }

  reply operator()(const stop_all_request& r) const {
    auto stopped = limiter_.stop_all(r.user_id);
    if (!stopped) return failure(stopped.error());
    return {outcome::no_content, {}};
  }

  reply operator()(const get_user_request& r) const {
    const user* u = limiter_.find_user(r.user_id);
    if (!u) return unknown_user(r.user_id);
    return {outcome::ok, render_user(*u)};
  }

  reply operator()(const list_users_request& r) const {
    const std::vector<const user*> matching = limiter_.users_matching(r.name_filter);
    std::vector<user_row> rows;
    rows.reserve(matching.size());
    for (const user* u : matching) rows.push_back(row_of(*u));
    return {outcome::ok, encode_users(rows)};
  }

  reply operator()(const create_user_request& r) const {
    auto created = limiter_.create_user(r);
    if (!created) return failure(created.error());
    return {outcome::created, render_user(*created)};
  }

  reply operator()(const patch_user_request& r) const {
    auto patched = limiter_.patch_user(r);
    if (!patched) return failure(patched.error());
    return {outcome::ok, render_user(*patched)};
  }

  reply operator()(const list_streams_request& r) const {
    if (!limiter_.find_user(r.user_id)) return unknown_user(r.user_id);
    return {outcome::ok, encode_streams(limiter_.streams_of(r.user_id))};
  }

  reply operator()(const snapshot_request& r) const {
    const user* u = limiter_.find_user(r.user_id);
    if (!u) return unknown_user(r.user_id);
    return {outcome::ok,
            encode_snapshot(r.user_id, limiter_.streams_of(r.user_id), limiter_.limit_of(*u),
                            limiter_.epoch(), limiter_.last_seq(r.user_id))};
  }

  reply operator()(const list_videos_request&) const {
    return {outcome::ok, encode_videos(limiter_.videos())};
  }

  reply operator()(const get_video_request& r) const {
    const video* v = limiter_.find_video(r.video_id);
    if (!v) return failure(not_found("video '" + r.video_id + "' not found"));
    return {outcome::ok, encode_video(*v)};
  }

  reply operator()(const get_request_request& r) const {
    const verdict* v = limiter_.find_verdict(r.request_id);
    // Another user's verdict is answered like an unknown one, so its id leaks nothing.
    if (!v || (r.owner_id && *r.owner_id != v->user_id))
      return failure(not_found("request '" + r.request_id + "' not found"));
    return {outcome::ok, encode_verdict_body(*v)};
  }

  reply operator()(const ping_request&) const { return {outcome::ok, "{}"}; }

  reply operator()(const authenticate_request& r) const {
    const user* u = limiter_.find_user(r.user_id);
    if (!u) return unknown_user(r.user_id);
    // A user without a token (the demo catalog's) matches no token.
    if (u->token_hash.empty() || !same_digest(u->token_hash, r.token_hash))
      return failure(error{error_code::forbidden, "the token does not belong to user '" + r.user_id + "'"});
    return {outcome::ok, "{}"};
  }

  // The counters are the server loop's, which answers this op itself (worker_server).
  reply operator()(const stats_request&) const {
    return failure(error{error_code::unavailable, "no statistics here"});
  }

  reply operator()(const list_events_request& r) const {
    if (!limiter_.find_user(r.user_id)) return unknown_user(r.user_id);
    if (audit_ == nullptr) return failure(error{error_code::unavailable, "no audit trail here"});
    return {outcome::ok, encode_audit_events(audit_->recent_audit(r.user_id, r.limit))};
  }

 private:
  user_row row_of(const user& u) const {
    return {&u, limiter_.limit_of(u), limiter_.policy_of(u),
            static_cast<int>(limiter_.active_count(u.id))};
  }

  std::string render_user(const user& u) const {
    const user_row row = row_of(u);
    return encode_user(u, row.limit, row.effective_policy, row.active);
  }

  stream_limiter& limiter_;
  instant at_;
  const audit_reader* audit_;
};

}  // namespace

reply request_handler::handle(const request_body& body, stream_limiter& limiter, instant at,
                              const audit_reader* audit) const {
  return std::visit(op_handler(limiter, at, audit), body);
}

}  // namespace streamgate
