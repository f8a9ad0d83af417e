#pragma once

// The decision core: which start is allowed, which stream ends when. It knows no ZeroMQ and no
// SQLite. Everything it decides is recorded as an ordered list of changes (for the store to make
// durable in one transaction) and a list of events (to publish once that transaction committed).
//
// Not thread-safe by design: the worker calls it from one thread, which is what serialises all
// decisions of a user, so no interleaving can ever let a user exceed the limit.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "common/clock.hpp"
#include "common/domain.hpp"
#include "common/error.hpp"
#include "common/messages.hpp"

namespace streamgate {

// Durable changes, in the order they were decided.
struct stream_saved {  // a new stream or a renewed lease
  stream s;
};
struct stream_removed {
  std::string stream_id;
};
struct verdict_saved {
  verdict v;
};
struct verdict_forgotten {  // out of the request memory window
  std::string request_id;
};
struct user_saved {
  user u;
};
struct video_saved {
  video v;
};
using change = std::variant<stream_saved, stream_removed, verdict_saved, verdict_forgotten,
                            user_saved, video_saved>;

using event = std::variant<verdict, ended_event>;

struct limiter_options {
  int default_max_streams = 3;
  std::chrono::milliseconds lease{std::chrono::seconds(90)};
  policy default_policy = policy::deny;
  std::chrono::milliseconds request_memory{std::chrono::minutes(10)};
};

struct start_result {
  verdict v;
  bool replayed = false;  // the requestId was decided before; v is that original verdict
};

class stream_limiter final {
 public:
  explicit stream_limiter(limiter_options options);

  // ---- loading the durable state at start (records no changes) ----
  void load_user(user u);
  void load_video(video v);
  // Leases resume with their remaining wall-clock time; one already past is expired by the next
  // expire_due().
  void load_stream(stream s, instant now);
  void load_verdict(verdict v, instant now);

  // ---- decisions ----
  // not_found: unknown user. conflict: the requestId was used by another user.
  // Unknown video: a denied verdict with reason "unknown_video" (recorded like any verdict).
  result<start_result> start(const start_request& r, instant now);
  // Returns the new expiry (wall ms). not_found: no such live stream of this user.
  result<std::int64_t> heartbeat(const std::string& user_id, const std::string& stream_id,
                                 instant now);
  result<void> stop(const std::string& user_id, const std::string& stream_id);
  // Returns how many streams ended. not_found: unknown user.
  result<int> stop_all(const std::string& user_id);
  // Ends every stream whose lease ran out and forgets verdicts past the memory window.
  void expire_due(instant now);
  // The earliest lease deadline, for the worker's poll timeout.
  std::optional<steady_time> next_deadline() const;

  result<user> create_user(const create_user_request& r);
  result<user> patch_user(const patch_user_request& r);
  void add_video(video v);

  // ---- reads ----
  const user* find_user(const std::string& id) const;
  std::vector<const user*> users_matching(std::string_view name_filter) const;  // sorted by id
  const video* find_video(const std::string& id) const;
  std::vector<const video*> videos() const;  // sorted by id
  std::vector<stream> streams_of(const std::string& user_id) const;  // oldest first
  const verdict* find_verdict(const std::string& request_id) const;
  int limit_of(const user& u) const;
  policy policy_of(const user& u) const;
  std::size_t active_count(const std::string& user_id) const;

  // ---- output of the decisions since the last call ----
  std::vector<change> take_changes();
  std::vector<event> take_events();

 private:
  struct live_stream {
    stream s;
    steady_time deadline;
  };
  struct remembered_verdict {
    verdict v;
    steady_time forget_at;
  };

  void end_stream(const std::string& stream_id, end_reason reason);

  limiter_options options_;
  std::unordered_map<std::string, user> users_;
  std::unordered_map<std::string, video> videos_;
  // A user's live streams, oldest first (at most a few: the limit is small).
  std::unordered_map<std::string, std::vector<live_stream>> streams_by_user_;
  std::unordered_map<std::string, std::string> user_of_stream_;
  // Lease deadlines; entries are checked against the live stream before use, so a renewed or
  // stopped stream leaves a stale entry behind instead of costing a search.
  std::multimap<steady_time, std::string> deadlines_;
  std::unordered_map<std::string, remembered_verdict> verdicts_;
  std::deque<std::pair<steady_time, std::string>> verdict_expiry_;
  std::vector<change> changes_;
  std::vector<event> events_;
};

}  // namespace streamgate
