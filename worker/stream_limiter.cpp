#include "worker/stream_limiter.hpp"

#include <algorithm>
#include <utility>

#include "common/ids.hpp"

namespace streamgate {

namespace {

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool contains_ignoring_case(std::string_view text, std::string_view needle) {
  if (needle.empty()) return true;
  return std::search(text.begin(), text.end(), needle.begin(), needle.end(),
                     [](char a, char b) { return ascii_lower(a) == ascii_lower(b); }) != text.end();
}

// std::push_heap builds a max-heap; "later is less" puts the earliest deadline on top.
constexpr auto later = [](const auto& a, const auto& b) { return a.at > b.at; };

std::size_t as_size(int limit) { return static_cast<std::size_t>(std::max(limit, 0)); }

}  // namespace

stream_limiter::stream_limiter(limiter_options options) : options_(options) {}

void stream_limiter::load_user(user u) {
  std::string id = u.id;
  users_.insert_or_assign(std::move(id), std::move(u));
}

void stream_limiter::load_video(video v) {
  std::string id = v.id;
  videos_.insert_or_assign(std::move(id), std::move(v));
}

void stream_limiter::load_stream(stream s, instant now) {
  // The remaining lease is measured on the wall clock it was stored with, then run on the
  // monotonic clock like any other lease.
  const steady_time deadline = now.mono + std::chrono::milliseconds(s.expires_at_ms - now.wall_ms);
  watch_deadline(deadline, s.user_id);
  stream_list& streams = streams_by_user_[s.user_id];
  // The store gives no order; oldest first is what eviction and the verdicts rely on.
  const auto position = std::upper_bound(
      streams.begin(), streams.end(), s.started_at_ms,
      [](std::int64_t started, const live_stream& l) { return started < l.s.started_at_ms; });
  streams.insert(position, live_stream{std::move(s), deadline});
}

void stream_limiter::load_verdict(verdict v, instant now) {
  // The store holds one verdict per requestId; a second would have no expiry entry of its own.
  if (verdicts_.contains(v.request_id)) return;
  const steady_time forget_at =
      now.mono + std::chrono::milliseconds(v.decided_at_ms - now.wall_ms) + options_.request_memory;
  schedule_forget(
      *verdicts_.insert(remembered_verdict{std::make_shared<const verdict>(std::move(v)), forget_at})
           .first);
}

result<start_result> stream_limiter::start(const start_request& r, instant now) {
  const auto user_it = users_.find(r.user_id);
  if (user_it == users_.end()) return not_found("unknown user '" + r.user_id + "'");

  if (const auto known = verdicts_.find(r.request_id); known != verdicts_.end()) {
    if (now.mono < known->forget_at) {
      if (known->v->user_id != r.user_id) return conflict("requestId already used");
      // Publishing it again records no change and reaches a client that missed the first push.
      publish(r.user_id, known->v);
      return start_result{known->v, true};
    }
    // Its window passed before expire_due() ran: forgotten now, then decided anew.
    forget_due(now.mono);
  }
  return decide(r, user_it->second, now);
}

start_result stream_limiter::decide(const start_request& r, const user& u, instant now) {
  // Built in place and then only shared, never copied.
  auto decided = std::make_shared<verdict>();
  verdict& v = *decided;
  stream_list& streams = streams_by_user_[r.user_id];
  expire_lapsed(streams, now);
  const int limit = limit_of(u);

  v.request_id = r.request_id;
  v.user_id = r.user_id;
  v.video_id = r.video_id;
  v.session_id = r.session_id;
  v.limit = limit;
  v.decided_at_ms = now.wall_ms;

  // Copies the streams straight into the verdict: the only copy a denial makes before it is
  // remembered and published.
  const auto deny = [&](const char* reason) {
    v.reason = reason;
    v.streams.reserve(streams.size());
    for (const live_stream& l : streams) v.streams.push_back(l.s);
  };
  const auto allow = [&](const live_stream& l) {
    v.allowed = true;
    v.granted = l.s;
  };

  const auto same_session =
      r.session_id.empty()
          ? streams.end()
          : std::find_if(streams.begin(), streams.end(),
                         [&](const live_stream& l) { return l.s.session_id == r.session_id; });

  if (!videos_.contains(r.video_id)) {
    deny("unknown_video");
  } else if (same_session != streams.end()) {
    // A reload or a retry of a playback that runs: activity, so the lease is renewed too.
    renew(*same_session, now);
    allow(*same_session);
  } else {
    const std::size_t max = as_size(limit);
    // Evicting under a limit of 0 would end streams and still deny.
    if (streams.size() >= max && max > 0 && policy_of(u) == policy::evict_oldest) {
      // More than one when the limit was lowered since the streams started.
      while (streams.size() >= max) end_stream(streams, 0, end_reason::evicted);
    }
    if (streams.size() < max) {
      live_stream& added = streams.emplace_back();
      added.s.stream_id = new_id("s_");
      added.s.user_id = r.user_id;
      added.s.video_id = r.video_id;
      added.s.session_id = r.session_id;
      added.s.started_at_ms = now.wall_ms;
      added.s.expires_at_ms = now.wall_ms + options_.lease.count();
      added.deadline = now.mono + options_.lease;
      watch_deadline(added.deadline, r.user_id);
      changes_.emplace_back(stream_saved{added.s});
      allow(added);
    } else {
      deny("limit_reached");
    }
  }
  v.active = static_cast<int>(streams.size());

  shared_verdict shared = std::move(decided);
  remember(shared, now.mono + options_.request_memory);
  return start_result{std::move(shared), false};
}

result<std::int64_t> stream_limiter::heartbeat(const std::string& user_id,
                                               const std::string& stream_id, instant now) {
  // Looking only among this user's streams is what keeps another user's stream unseen.
  const auto found = streams_by_user_.find(user_id);
  if (found != streams_by_user_.end()) {
    stream_list& streams = found->second;
    expire_lapsed(streams, now);
    const auto it = std::find_if(streams.begin(), streams.end(),
                                 [&](const live_stream& l) { return l.s.stream_id == stream_id; });
    if (it != streams.end()) {
      renew(*it, now);
      return it->s.expires_at_ms;
    }
  }
  return not_found("unknown stream '" + stream_id + "'");
}

result<void> stream_limiter::stop(const std::string& user_id, const std::string& stream_id) {
  const auto found = streams_by_user_.find(user_id);
  if (found != streams_by_user_.end()) {
    stream_list& streams = found->second;
    const auto it = std::find_if(streams.begin(), streams.end(),
                                 [&](const live_stream& l) { return l.s.stream_id == stream_id; });
    if (it != streams.end()) {
      end_stream(streams, static_cast<std::size_t>(it - streams.begin()), end_reason::stopped);
      return {};
    }
  }
  return not_found("unknown stream '" + stream_id + "'");
}

result<int> stream_limiter::stop_all(const std::string& user_id) {
  if (!users_.contains(user_id)) return not_found("unknown user '" + user_id + "'");
  const auto found = streams_by_user_.find(user_id);
  if (found == streams_by_user_.end()) return 0;
  stream_list& streams = found->second;
  const int ended = static_cast<int>(streams.size());
  for (live_stream& l : streams) record_end(l.s, end_reason::stop_all);
  streams.clear();
  return ended;
}

void stream_limiter::expire_due(instant now) {
  while (!lease_deadlines_.empty() && lease_deadlines_.front().at <= now.mono) {
    std::pop_heap(lease_deadlines_.begin(), lease_deadlines_.end(), later);
    const auto found = streams_by_user_.find(lease_deadlines_.back().user_id);
    if (found != streams_by_user_.end()) expire_lapsed(found->second, now);
    lease_deadlines_.pop_back();
  }
  forget_due(now.mono);
}

std::optional<steady_time> stream_limiter::next_deadline() const {
  // May be a stale entry's time: the worker then wakes early and finds nothing to do.
  if (lease_deadlines_.empty()) return std::nullopt;
  return lease_deadlines_.front().at;
}

result<user> stream_limiter::create_user(const create_user_request& r) {
  std::string id;
  if (r.id) {
    if (users_.contains(*r.id)) return conflict("user '" + *r.id + "' already exists");
    id = *r.id;
  } else {
    // 128 random bits: a collision is not worth a retry loop.
    id = new_id("u_");
  }
  user created{id, r.name, r.max_streams, r.policy_override, r.token_hash.value_or("")};
  users_.emplace(std::move(id), created);
  changes_.emplace_back(user_saved{created});
  return created;
}

result<user> stream_limiter::patch_user(const patch_user_request& r) {
  const auto found = users_.find(r.user_id);
  if (found == users_.end()) return not_found("unknown user '" + r.user_id + "'");
  user& u = found->second;
  // Only the limit of later starts changes: running streams keep playing (no eviction here).
  if (r.name) u.name = *r.name;
  if (r.max_streams) u.max_streams = r.max_streams;
  if (r.policy_override) u.policy_override = r.policy_override;
  changes_.emplace_back(user_saved{u});
  return u;
}

void stream_limiter::add_video(video v) {
  videos_.insert_or_assign(v.id, v);
  changes_.emplace_back(video_saved{std::move(v)});
}

const user* stream_limiter::find_user(const std::string& id) const {
  const auto found = users_.find(id);
  return found == users_.end() ? nullptr : &found->second;
}

std::vector<const user*> stream_limiter::users_matching(std::string_view name_filter) const {
  std::vector<const user*> matching;
  for (const auto& [id, u] : users_)
    if (contains_ignoring_case(u.name, name_filter)) matching.push_back(&u);
  std::sort(matching.begin(), matching.end(),
            [](const user* a, const user* b) { return a->id < b->id; });
  return matching;
}

const video* stream_limiter::find_video(const std::string& id) const {
  const auto found = videos_.find(id);
  return found == videos_.end() ? nullptr : &found->second;
}

std::vector<const video*> stream_limiter::videos() const {
  std::vector<const video*> all;
  all.reserve(videos_.size());
  for (const auto& [id, v] : videos_) all.push_back(&v);
  std::sort(all.begin(), all.end(), [](const video* a, const video* b) { return a->id < b->id; });
  return all;
}

std::vector<stream> stream_limiter::streams_of(const std::string& user_id) const {
  std::vector<stream> streams;
  const auto found = streams_by_user_.find(user_id);
  if (found == streams_by_user_.end()) return streams;
  streams.reserve(found->second.size());
  for (const live_stream& l : found->second) streams.push_back(l.s);
  return streams;
}

const verdict* stream_limiter::find_verdict(const std::string& request_id) const {
  const auto found = verdicts_.find(request_id);
  return found == verdicts_.end() ? nullptr : found->v.get();
}

int stream_limiter::limit_of(const user& u) const {
  return u.max_streams.value_or(options_.default_max_streams);
}

policy stream_limiter::policy_of(const user& u) const {
  return u.policy_override.value_or(options_.default_policy);
}

std::size_t stream_limiter::active_count(const std::string& user_id) const {
  const auto found = streams_by_user_.find(user_id);
  return found == streams_by_user_.end() ? 0 : found->second.size();
}

std::size_t stream_limiter::active_total() const {
  std::size_t total = 0;
  for (const auto& [user_id, streams] : streams_by_user_) total += streams.size();
  return total;
}

std::uint64_t stream_limiter::last_seq(const std::string& user_id) const {
  const auto found = seq_by_user_.find(user_id);
  return found == seq_by_user_.end() ? 0 : found->second;
}

// The next batch is likely as large as this one: one allocation instead of growing again.
std::vector<change> stream_limiter::take_changes() {
  std::vector<change> taken = std::move(changes_);
  changes_.clear();
  changes_.reserve(taken.size());
  return taken;
}

std::vector<event> stream_limiter::take_events() {
  std::vector<event> taken = std::move(events_);
  events_.clear();
  events_.reserve(taken.size());
  return taken;
}

void stream_limiter::expire_lapsed(stream_list& streams, instant now) {
  const auto lapsed = [&](const live_stream& l) { return l.deadline <= now.mono; };
  if (std::none_of(streams.begin(), streams.end(), lapsed)) return;
  for (live_stream& l : streams)
    if (lapsed(l)) record_end(l.s, end_reason::expired);
  std::erase_if(streams, lapsed);
}

void stream_limiter::end_stream(stream_list& streams, std::size_t index, end_reason reason) {
  record_end(streams[index].s, reason);
  streams.erase(streams.begin() + static_cast<std::ptrdiff_t>(index));
}

void stream_limiter::record_end(stream& s, end_reason reason) {
  changes_.emplace_back(stream_removed{s.stream_id});
  std::string user_id = std::move(s.user_id);
  publish(user_id, ended_event{std::move(s.stream_id), user_id, reason});
}

void stream_limiter::publish(const std::string& user_id,
                             std::variant<shared_verdict, ended_event> what) {
  events_.push_back({std::move(what), ++seq_by_user_[user_id]});
}

void stream_limiter::renew(live_stream& l, instant now) {
  l.deadline = now.mono + options_.lease;
  l.s.expires_at_ms = now.wall_ms + options_.lease.count();
  watch_deadline(l.deadline, l.s.user_id);
  changes_.emplace_back(stream_saved{l.s});
}

void stream_limiter::watch_deadline(steady_time at, const std::string& user_id) {
  lease_deadlines_.push_back({at, user_id});
  std::push_heap(lease_deadlines_.begin(), lease_deadlines_.end(), later);
}

void stream_limiter::remember(const shared_verdict& v, steady_time forget_at) {
  schedule_forget(*verdicts_.insert(remembered_verdict{v, forget_at}).first);
  changes_.emplace_back(verdict_saved{v});
  publish(v->user_id, v);
}

void stream_limiter::schedule_forget(const remembered_verdict& entry) {
  // Decisions come in time order, so this appends; loading (verdicts in any order) or a clock
  // that stepped back searches.
  auto position = verdict_expiry_.end();
  if (!verdict_expiry_.empty() && entry.forget_at < verdict_expiry_.back().first) {
    position = std::upper_bound(verdict_expiry_.begin(), verdict_expiry_.end(), entry.forget_at,
                                [](steady_time t, const auto& due) { return t < due.first; });
  }
  verdict_expiry_.emplace(position, entry.forget_at, &entry);
}

void stream_limiter::forget_due(steady_time now) {
  while (!verdict_expiry_.empty() && verdict_expiry_.front().first <= now) {
    const remembered_verdict* due = verdict_expiry_.front().second;
    verdict_expiry_.pop_front();
    const auto node = verdicts_.extract(verdicts_.find(due->v->request_id));
    changes_.emplace_back(verdict_forgotten{node.value().v->request_id});
  }
}

}  // namespace streamgate
