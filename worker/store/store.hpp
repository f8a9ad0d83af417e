#pragma once

// What the worker asks of a store, and all it asks (docs/design.md, "Stores"): load the state of
// the users a batch needs with the store's time, and commit a batch of changed user states. A
// store only stores: every rule lives in the decision core (worker/core). Two stores implement
// it: SQLite (one machine, one writer) and Redis (one server or a Redis Cluster, many workers).
//
// A state is small (the user and its live streams); what a user's starts decided is kept beside
// it, one record per start, so a decision writes its own start and never the whole request
// memory again (docs/design.md §8).
//
// Compare-and-commit: a user's state is committed only if the store still holds the version it
// was loaded at; the stored version then becomes version + 1. A worker that decided on a stale
// state (another worker committed first) gets `conflict` for that user, reloads and decides again,
// so two workers can never both commit a decision for one user.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "common/domain.hpp"
#include "worker/core/user_state.hpp"
#include "worker/store/stream_changes.hpp"

namespace streamgate {

// The store cannot be reached (or answered what no store of ours would): the batch gets 503 and
// the worker reconnects on its next batch. What a commit that threw did is unknown: the worker
// forgets its cached states and reloads them, and a client's retry (same requestId) finds whatever
// was committed, never a second decision.
class store_unavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The store must not be served any more (its file was replaced, its dataset lost): the worker
// stops confirming anything and reports DOWN with this reason (hardening).
class store_lost final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What every worker of a dataset shares besides the users: fixed once seeded.
struct dataset_catalog {
  std::vector<video> videos;  // by id
  std::vector<plan> plans;    // by id
};

struct loaded_users {
  std::int64_t now_ms = 0;  // the store's clock, so every worker agrees on leases
  // As asked; nullopt: no such user, or one of unreachable_users.
  std::vector<std::optional<core::user_state>> states;
  std::vector<std::optional<std::string>> owners;  // of the request ids asked, as asked
  // A store over several servers (a Redis Cluster) whose server holding a user, or a request
  // id's owner, could not be reached: their indexes in what was asked. Their requests are
  // answered 503 while the other users' are decided (docs/design.md §8, "A Cluster master down").
  std::vector<std::size_t> unreachable_users;
  std::vector<std::size_t> unreachable_requests;
};

struct user_commit {
  core::user_state state;  // the new state; state.version is the version it was loaded at
  std::vector<audit_entry> audit;           // appended to the user's audit trail
  std::optional<std::int64_t> next_expiry;  // the lease index entry; none: no live stream
  // The starts first decided in this commit (core::effects::remembered). The store keeps them
  // beside the state, at least the user's newest core::remembered_starts_per_user of them for
  // the request memory window, and load() gives them back in state.starts; their request ids
  // name the user for request_owner().
  std::vector<core::remembered_start> new_starts;
  // The user's live streams now minus as loaded: exact, as the commit is version-checked.
  int streams_delta = 0;
  // DELETE /api/v1/users/{id}: the user (at state.version), its audit trail and its index
  // entries go instead; the request ids it decided may still name it until they are forgotten,
  // and a lookup then finds no such user.
  bool remove = false;
  // next_expiry is what the state had when it was loaded: the lease index entry, written by the
  // commit of that version, is right already, and a store may leave it alone (docs/design.md §8).
  bool same_expiry_as_loaded = false;
  // What changed in the live streams since the loaded version, for a store that keeps each apart;
  // none (a new user, a test's commit): the store writes them all.
  std::optional<stream_changes> streams_changed{};
};

// A batch's commits grow in a vector: it must move them, never copy whole states.
static_assert(std::is_nothrow_move_constructible_v<user_commit>);

// unreachable: of a store over several servers, the one holding the user or an index its commit
// writes could not be reached, so whether the commit was applied is unknown: the worker forgets
// the state and answers 503, as when the whole store cannot be reached.
enum class commit_status { committed, conflict, unreachable };

class store {
 public:
  virtual ~store() = default;

  // The identity of the dataset, made when it was first seeded. An api routes only among workers
  // that announce the same one, and event sequence numbers are numbered within it.
  virtual const std::string& dataset_id() const = 0;
  // Whether this worker is the store's only writer (SQLite holds its file exclusively): then a
  // cached state never goes stale and reads need not reload it.
  virtual bool exclusive() const = 0;

  // Whether the dataset holds its catalog: seed() writes its marker last, so a crash during a
  // seed leaves it absent and the next start seeds again (a seeded user is never overwritten).
  // It is the worker's once-a-second look at a shared store (worker_loop), so a store whose
  // servers may no longer keep the dataset (Redis set to lose writes, a Cluster master without
  // its data) throws store_lost here (docs/design.md §8).
  virtual bool seeded() = 0;
  virtual void seed(const dataset_catalog& catalog, const std::vector<core::user_state>& users) = 0;
  // Whether this worker may seed now: of a shared store's workers, one at a time, for `for_ms`.
  // Two seeding at once with different catalogs would each read back the plans at another moment
  // of the other's writes, and decide by other limits (worker/seed.hpp). An exclusive store's
  // only worker always may.
  virtual bool take_seeding(std::int64_t for_ms) = 0;
  virtual dataset_catalog load_catalog() = 0;
  // The store's clock, the states of these users and the owners of these request ids (as
  // request_owner() answers), in one round trip.
  virtual loaded_users load(const std::vector<std::string>& user_ids,
                            const std::vector<std::string>& request_ids = {}) = 0;
  // Each user's commit is atomic and version-checked; the answer is in the order given.
  virtual std::vector<commit_status> commit(const std::vector<user_commit>& commits) = 0;
  // The worker holds these users' states no longer: what the store kept of each to commit it may
  // go, as a commit of one is loaded first (docs/design.md §10: memory follows the users in use).
  virtual void forget(const std::vector<std::string>& user_ids) = 0;

  // Users with a lease due by now_ms (from the lease index), at most `max`; may name users whose
  // leases were renewed since: deciding their expiry then finds nothing to end.
  virtual std::vector<std::string> due_users(std::int64_t now_ms, std::size_t max) = 0;
  // The user who decided a request id within its memory window, if the store knows it.
  virtual std::optional<std::string> request_owner(const std::string& request_id) = 0;
  virtual std::vector<std::string> user_ids() = 0;  // every user, sorted
  // Live streams of all users, for the streamgate_active_streams gauge; nullopt when this store
  // does not keep the total (an exclusive store's worker sums its cache instead).
  virtual std::optional<std::uint64_t> active_streams() = 0;
  // Deletes at most `max_records` audit lines older than `audit_before_ms` and as many
  // remembered starts past their memory window, oldest first; returns how many of both. Called
  // in the background in small steps, so both stay bounded without a long pause (hardening: the
  // SQLite audit trail was never trimmed). Redis caps each user's audit list in the commit and
  // keeps its starts in a ring of fixed size instead, and prunes nothing here. The SQLite store
  // prunes the rows its tables hold (not what its log has yet to fold), and none while a fold runs.
  virtual std::size_t prune(std::int64_t audit_before_ms, std::size_t max_records) = 0;
  // The user's newest `limit` audit lines, newest first.
  virtual std::vector<audit_entry> recent_audit(const std::string& user_id, int limit) = 0;

  // The worker lives that decide for this dataset now (docs/design.md §9): marks `life` (this
  // worker process's) alive for `for_ms` of the store's time from now and answers every life
  // marked alive, `life` among them. The workers' heartbeats carry the answer, so an api cut off
  // from one of them learns from the others that it lives and that ends it decides go unheard.
  // The only writer of an exclusive store is the only life it can have.
  virtual std::vector<std::string> live_workers(const std::string& life, std::int64_t for_ms) = 0;
  // A worker that stops cleanly: `life` is no longer named.
  virtual void end_life(const std::string& life) = 0;

  // The settings every worker of a shared store decides by (worker/server/dataset_settings.hpp):
  // none until a worker set them. An exclusive store keeps none: its worker's flags are they.
  virtual std::optional<std::string> settings() = 0;
  virtual void set_settings(const std::string& text) = 0;
  // Announces the settings `text` of a worker about to claim them, for `for_ms`, unless another
  // worker's announcement holds: answers the settings announced then (`text` when this one
  // holds). Atomic, so of two workers starting at once only one sees its own.
  virtual std::string announce_settings(const std::string& text, std::int64_t for_ms) = 0;
};

}  // namespace streamgate
