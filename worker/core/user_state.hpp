#pragma once

// The state of one user, as the decision core reads and changes it and as a store loads and
// commits it (docs/design.md, "Decision core"). Nothing here knows a store, a socket, JSON
// or a clock: times are the store's wall-clock milliseconds, given by the caller.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "common/domain.hpp"

namespace streamgate::core {

// At least this many of a user's latest starts are remembered, at most an eighth more (the
// oldest is forgotten first), so one user cannot grow a worker or a store without bound
// (hardening: compact request memory). A retry of a start pushed out by this many later starts
// of the same user within the memory window is decided again: the fault test's busiest users make
// about 50 starts in seconds. Stores keep at least this many per user.
inline constexpr std::size_t remembered_starts_per_user = 256;
// A list kept at `kept` entries grows an eighth over it before its oldest are dropped back to
// `kept`: dropped once per kept/8 additions rather than at every one (core_bench).
constexpr std::size_t with_slack(std::size_t kept) { return kept + kept / 8; }
// The most starts a user remembers (decisions.cpp, remember), and so the most a store keeps.
inline constexpr std::size_t most_remembered_starts = with_slack(remembered_starts_per_user);

// The global rules every decision applies; the same on every worker of a deployment.
struct rules {
  int default_max_streams = 3;
  policy default_policy = policy::deny;
  std::int64_t lease_ms = 90'000;
  // How long a start's requestId is remembered, so a retry gets the original verdict.
  std::int64_t request_memory_ms = 600'000;
  std::size_t max_remembered_starts = remembered_starts_per_user;  // lowered by tests only
  std::vector<plan> plans;  // by id; a user's plan that is not here counts as no plan
};

// A start decided earlier, kept compactly: a replay rebuilds the original verdict from it (an
// allowed one names the same stream; a denied one shows the streams in use at replay time).
struct remembered_start {
  std::string request_id;
  std::string video_id;
  std::string session_id;
  std::int64_t decided_at_ms = 0;
  bool allowed = false;
  bool over_limit = false;
  std::string stream_id;           // allowed: the stream it granted
  std::int64_t expires_at_ms = 0;  // allowed: the lease as granted
  std::string reason;              // denied: "limit_reached" or "unknown_video"
  int active = 0;
  int limit = 0;

  bool operator==(const remembered_start&) const = default;
};

// What the core keeps beside a user's lists so that a decision does not pass over every entry of
// them (bench/core_bench.cpp, BM_start_many_streams: a user holding hundreds of live streams and
// a full request memory). Not part of the state: two states are equal whatever their aids, and a
// state a store has just loaded has none; the core takes them from the lists when it first needs
// them (worker/core/list_aids.hpp). Only the core changes the lists of a state it decided on.
struct list_aids {
  // No live stream's lease ends before the first, no remembered start was decided before the
  // second. The lowest time bounds nothing, so the next settle() passes over the list and sets it.
  std::int64_t leases_end_from_ms = std::numeric_limits<std::int64_t>::min();
  std::int64_t starts_decided_from_ms = std::numeric_limits<std::int64_t>::min();
  // A fingerprint of each live stream's session id and of each remembered start's request id,
  // in the lists' order, so a lookup reads 8 bytes an entry and compares strings only where the
  // fingerprints agree. Taken again from a list whose length they do not match.
  std::vector<std::uint64_t> sessions;
  std::vector<std::uint64_t> requests;

  bool operator==(const list_aids&) const { return true; }
};

struct user_state {
  user u;
  std::vector<stream> streams;           // live streams, oldest first
  // Oldest first, within the memory window. Kept beside the state, not in it: a decision writes
  // only the starts it made (effects::remembered), never the whole request memory again.
  // A vector, not a deque: libstdc++'s deque move may throw, and a vector of states copies
  // those as it grows (worker/store/store.hpp).
  std::vector<remembered_start> starts;
  std::uint64_t seq = 0;                 // the number of the user's latest event (0: none yet)
  // The store's version of this state when it was loaded: a commit is accepted only while the
  // store still holds that version (compare-and-commit). 0 for a user the store does not have.
  std::uint64_t version = 0;
  // Mutable: a lookup on a const state (find_start) takes the fingerprints it lacks.
  mutable list_aids aids;

  bool operator==(const user_state&) const = default;
};

}  // namespace streamgate::core
