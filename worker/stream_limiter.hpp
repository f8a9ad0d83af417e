#pragma once

// The decision core: which start is allowed, which stream ends when. It knows no ZeroMQ and no
// SQLite. Everything it decides is recorded as an ordered list of changes (for the store to make
// durable in one transaction) and a list of events (to publish once that transaction committed).
//
// Not thread-safe by design: the worker calls it from one thread, which is what serialises all
// decisions of a user, so no interleaving can ever let a user exceed the limit.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
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
// Verdicts are immutable once decided and shared by the request memory, the store's change list,
// the published event and the caller, so a decision copies none of its strings.
using shared_verdict = std::shared_ptr<const verdict>;

struct verdict_saved {
  shared_verdict v;
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

// What is published, in decision order. `seq` counts the user's events (1, 2, ...) within this
// limiter's life (its epoch), so an api that misses one sees the gap and asks for a snapshot.
struct event {
  std::variant<shared_verdict, ended_event> what;
  std::uint64_t seq = 0;
};

struct limiter_options {
  int default_max_streams = 3;
  std::chrono::milliseconds lease{std::chrono::seconds(90)};
  policy default_policy = policy::deny;
  std::chrono::milliseconds request_memory{std::chrono::minutes(10)};
  // Names this limiter's life: event sequences restart with each epoch (see event).
  std::string epoch = "e_0";
};

struct start_result {
  shared_verdict v;
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
  // A live stream with the same non-empty sessionId is returned with a renewed lease and takes
  // no slot; an empty sessionId never matches, since each such start is a playback of its own.
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
  std::vector<const video*> videos() const;                          // sorted by id
  std::vector<stream> streams_of(const std::string& user_id) const;  // oldest first
  const verdict* find_verdict(const std::string& request_id) const;
  int limit_of(const user& u) const;
  policy policy_of(const user& u) const;
  std::size_t active_count(const std::string& user_id) const;
  // Live streams of all users (the streamgate_active_streams gauge), summed per call: a scrape
  // every few seconds walks the users once, cheaper than a counter every start and end must keep.
  std::size_t active_total() const;
  // The sequence number of the user's latest event (0 before any): a snapshot taken now
  // reflects every event up to it.
  std::uint64_t last_seq(const std::string& user_id) const;
  const std::string& epoch() const { return options_.epoch; }

  // ---- output of the decisions since the last call ----
  std::vector<change> take_changes();
  std::vector<event> take_events();

 private:
  struct live_stream {
    stream s;
    steady_time deadline;
  };
  // A user's live streams, oldest first (at most a few: the limit is small).
  using stream_list = std::vector<live_stream>;
  struct remembered_verdict {
    shared_verdict v;
    steady_time forget_at;
  };
  // Remembered verdicts are found by their own requestId, so the key costs no second copy.
  struct request_id_of {
    using is_transparent = void;
    static std::string_view key(std::string_view id) { return id; }
    static std::string_view key(const remembered_verdict& r) { return r.v->request_id; }
    template <class A>
    std::size_t operator()(const A& a) const {
      return std::hash<std::string_view>{}(key(a));
    }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      return key(a) == key(b);
    }
  };
  struct lease_deadline {
    steady_time at;
    std::string user_id;
  };

  // A lease that ran out ends here even when expire_due() has not run yet, so it never counts
  // against the limit nor takes a heartbeat.
  void expire_lapsed(stream_list& streams, instant now);
  void end_stream(stream_list& streams, std::size_t index, end_reason reason);
  void record_end(stream& s, end_reason reason);  // moves the ids out of s
  void renew(live_stream& l, instant now);
  void watch_deadline(steady_time at, const std::string& user_id);
  start_result decide(const start_request& r, const user& u, instant now);
  void remember(const shared_verdict& v, steady_time forget_at);
  void publish(const std::string& user_id, std::variant<shared_verdict, ended_event> what);
  void schedule_forget(const remembered_verdict& entry);
  void forget_due(steady_time now);

  limiter_options options_;
  std::unordered_map<std::string, user> users_;
  std::unordered_map<std::string, video> videos_;
  std::unordered_map<std::string, stream_list> streams_by_user_;
  // A min-heap of lease deadlines. An entry only says "look at this user's streams then": a
  // renewed or stopped stream leaves a stale entry behind that finds nothing lapsed, which is
  // cheaper than searching the heap on every heartbeat, and a stream needs no id index.
  std::vector<lease_deadline> lease_deadlines_;
  std::unordered_set<remembered_verdict, request_id_of, request_id_of> verdicts_;
  // One entry per remembered verdict, ordered by forget_at: a verdict leaves memory only
  // through its entry, so the pointer is valid until the entry is taken.
  std::deque<std::pair<steady_time, const remembered_verdict*>> verdict_expiry_;
  std::unordered_map<std::string, std::uint64_t> seq_by_user_;
  std::vector<change> changes_;
  std::vector<event> events_;
};

}  // namespace streamgate
