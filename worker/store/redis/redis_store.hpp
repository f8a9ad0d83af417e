#pragma once

// The Redis store (one server or a Redis Cluster, many workers): each user's state is one hash
// committed by one generic Lua script with a version check (worker/store/redis/commit.lua), so
// two workers that decided on the same loaded state cannot both commit (docs/design.md,
// "Stores"). The script holds no rule of streamgate: the decision core decided already.
//
// Keys (every key of a user carries the hash tag {user:<id>}, so a user's commit runs on one
// Cluster slot):
//   {user:U}             hash: v the version (decimal; absent: 0), s encode_state's bytes
//                        without the live streams; per live stream t:<id> (pack_stream) and
//                        e:<id> its lease (pack_lease), so a decision writes the streams it
//                        changed, not all of them (worker/store/stream_changes.hpp); n the
//                        starts written so far, and start k as encode_start's bytes at
//                        q:<k mod core::most_remembered_starts>: a ring, so a start is one more
//                        field of the commit's HSET and the oldest is overwritten, never trimmed
//   {user:U}:audit       list of packed audit lines, oldest first, trimmed to the cap
//   {<tag of slot>}:leases  per shard: zset U -> the user's next lease expiry, for every user of
//                        the shard (written by the commit script). A Cluster's shard is a slot
//                        (no single hot key); a single server is one shard, slot 0's key
//   {<tag of slot>}:active  per shard: the live streams of its users (commit script)
//   sg:one-shard         on a single server: its older per-slot keys were merged into slot 0's
//   sg:requests:{<tag>}:<generation>  hash: request id -> the user who decided it, per shard of
//                        request ids and generation of the request memory, expiring a memory
//                        after the generation ends (redis_keys.hpp, request_index_key)
//   sg:users             set of every user id (added before a new user's first commit)
//   sg:videos, sg:plans  hashes id -> packed catalog entry
//   sg:workers           zset: the life of each worker process -> until when (the store's clock,
//                        ms) it is marked alive (live_workers)
//   sg:dataset           the dataset's random id (set once, NX, by the first worker to open)
//   sg:settings          the settings its workers decide by (worker/server/dataset_settings.hpp)
//   sg:settings-announced  the settings of a worker claiming them now, for a moment
//   sg:seeded            the marker seed() writes last; its value is the dataset id
//   sg:seeding           the dataset id while a worker seeds (take_seeding)
//
// Not thread-safe: one worker thread owns it (the due_users cursor is per object).
//
// Its parts: redis_store.cpp (open, the per-shard sweeps), redis_store_load.cpp (reading),
// redis_store_commit.cpp (writing, the script calls), redis_store_markers.cpp (every Cluster
// master's marker of the dataset), redis_keys.hpp, redis_packing.cpp.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "worker/store/redis/router.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

struct redis_store_options {
  std::chrono::milliseconds timeout{2000};  // for connecting and for every reply
  std::size_t audit_cap = 1000;             // audit lines kept per user, 1 to 5000
  // How long the request-owner index names a request's user at least (at most twice as long):
  // the request memory of the rules (core::rules).
  std::int64_t request_memory_ms = 600'000;
  // A Cluster's per-slot lease indexes scanned per due_users() call: a full pass over the 16384
  // takes 16384 / slots_per_scan calls. 1 to 16384 (a single server has one, read every call). The worker expires the users it serves from its
  // own heap; this sweep only finds those a dead worker left, so it may be slow (at the worker's
  // 100 ms cadence, 256 a call is a pass in 6.4 s for about 1 ms of worker time a call).
  std::size_t slots_per_scan = 256;
};

class redis_store final : public store {
 public:
  // Connects (discovering a cluster from any seed), loads the commit script on every master and
  // learns the dataset id (making it when the store has none). Throws store_unavailable when
  // no seed answers or Redis refuses the script; std::invalid_argument for bad options;
  // store_lost for a master that may lose what it acknowledges (redis_server_settings.hpp),
  // which every later call that connects to it throws too.
  static std::unique_ptr<redis_store> open(std::vector<redis_address> seeds,
                                           redis_store_options options);

  const std::string& dataset_id() const override { return dataset_id_; }
  bool exclusive() const override { return false; }

  // One GET: the marker holds this store's dataset id. False when Redis lost its data, and also
  // when it was seeded again since (another dataset): the worker must stop serving either way.
  // Before it, one CONFIG GET per master (pipelined): store_lost for a master set since to lose
  // what it acknowledges. After it, on a Cluster, one GET per master of its marker: store_lost
  // for a master that lost its data (check_slot_markers).
  bool seeded() override;
  void seed(const dataset_catalog& catalog, const std::vector<core::user_state>& users) override;
  dataset_catalog load_catalog() override;
  loaded_users load(const std::vector<std::string>& user_ids,
                    const std::vector<std::string>& request_ids = {}) override;
  std::vector<commit_status> commit(const std::vector<user_commit>& commits) override;
  std::vector<std::string> due_users(std::int64_t now_ms, std::size_t max) override;
  std::optional<std::string> request_owner(const std::string& request_id) override;
  std::vector<std::string> user_ids() override;
  // The commit script trims each user's audit list; its ring of starts never outgrows its size.
  std::size_t prune(std::int64_t, std::size_t) override { return 0; }
  // The sum of the per-shard live-stream counters the commit script keeps: one GET on a single
  // server, one pipeline over the 16384 slots of a Cluster (milliseconds; for a metrics scrape,
  // not for the hot path).
  std::optional<std::uint64_t> active_streams() override;
  void forget(const std::vector<std::string>& user_ids) override;
  // The users whose ring of starts this worker knows the position of: those its decider holds.
  std::size_t users_known() const { return starts_made_.size(); }
  std::vector<audit_entry> recent_audit(const std::string& user_id, int limit) override;
  // Three commands to sg:workers's node: ZADD, ZREMRANGEBYSCORE of the lapsed, ZRANGE.
  std::vector<std::string> live_workers(const std::string& life, std::int64_t for_ms) override;
  void end_life(const std::string& life) override;
  std::optional<std::string> settings() override;
  void set_settings(const std::string& text) override;
  // SET sg:settings-announced NX PX GET: the key holds the first announcement until it lapses.
  std::string announce_settings(const std::string& text, std::int64_t for_ms) override;
  // SET sg:seeding NX PX: the first to ask seeds until it lapses.
  bool take_seeding(std::int64_t for_ms) override;

 private:
  redis_store(std::vector<redis_address> seeds, redis_store_options options);

  void load_script();
  // sg:seeded lives on one master of a Cluster, so a master restarted without its data (its AOF
  // lost, a node replaced empty) went unnoticed and its users vanished, their streams with them
  // (a black-box probe). So every slot holds a marker of the dataset ({<tag>}:seeded, written
  // once: the flag beside sg:seeded says so), and each master's lowest slot's is looked for.
  // Throws store_lost naming a master whose marker is gone. Nothing on a single server.
  void check_slot_markers();
  void write_slot_markers();
  // A user's state from its hash (HGETALL): v, s, and each live stream apart with its lease.
  core::user_state read_user(const std::string& id, const redisReply& fields);
  // The lease indexes and live-stream counts: one per slot on a Cluster, slot 0's on a single
  // server (redis_keys.hpp, shard_slot_of).
  std::size_t shard_count() const;
  // A single server's store written by an older worker keeps them per slot: merged into slot
  // 0's, once, atomically (MULTI under a WATCH of the marker), and marked so.
  void merge_slot_keys();
  // Runs the commands; EVALSHA replies of NOSCRIPT (a node restarted or flushed its scripts)
  // load the script on every master and are sent again. `where_reachable` on a Cluster: a master
  // that cannot be reached gives its commands null replies (redis_router::run_where_reachable)
  // instead of failing the call; a single server fails it either way.
  std::vector<redis_reply_ptr> run(const std::vector<redis_command>& commands,
                                   bool where_reachable = false);
  // The store's clock for a load that needs nothing else (every user cached, no requestId to
  // look up): its last TIME, read with every load and every commit, plus the time this worker
  // measured since, which spares that load its round trip (docs/design.md §8). A reading is
  // taken once its reply came, so an estimate is never ahead of the server's clock and at most a
  // round trip behind; one older than max_reading_age is read again.
  static constexpr std::chrono::seconds max_reading_age{1};
  // A reading is never taken behind this worker's projection of the last one: read from another
  // master (below), whose clock may be a little behind, time does not go back.
  void note_time(const redisReply& time);
  // Notes `time`, the TIME of sg:dataset's node; when that node could not be reached (null),
  // another master's: the masters' clocks agree far closer than a lease, and the master of
  // sg:dataset must not be the one every batch of a Cluster needs (docs/design.md §8, "A Cluster
  // master down"). Throws store_unavailable when no master answers.
  void note_time_of_any(const redis_reply_ptr& time);
  std::optional<std::int64_t> estimated_now_ms() const;
  // The last reading plus the time measured since; only once there is a reading.
  std::int64_t projected_ms() const;
  // The store's clock for the request-owner index's generations: projected from the last reading
  // however old (a generation lasts the request memory, so a reading's age matters little
  // there), or from a TIME of its own when there is none.
  std::int64_t clock_ms();

  // A request id's owner: HGETs of the generations it may be in (owner_lookups), added to a
  // pipeline, and what their replies, from `first` on, say.
  static constexpr std::size_t owner_lookups = 3;
  void add_owner_lookups(const std::string& request_id, std::int64_t now_ms,
                         std::vector<redis_command>& commands) const;
  static std::optional<std::string> owner_found(const std::vector<redis_reply_ptr>& replies,
                                                std::size_t first, const std::string& request_id);

  redis_store_options options_;
  redis_router router_;
  std::string script_sha_;
  std::string dataset_id_;
  std::size_t next_slot_ = 0;    // due_users' cursor over a Cluster's per-slot lease indexes
  std::size_t next_offset_ = 0;  // and over a single server's one lease index
  // Users loaded as an older worker wrote them (their streams inside the state): their next
  // commit rewrites the whole hash.
  std::unordered_set<std::string> whole_next_;
  // Where each user's ring of starts stood (its n) at the version this worker last loaded or
  // committed: a commit names its start fields itself, so commit.lua builds no string
  // (read_user and commit note it).
  struct ring_position {
    std::uint64_t version = 0;
    std::int64_t made = 0;
  };
  std::unordered_map<std::string, ring_position> starts_made_;
  // The starts a commit's user had written before, at the version it was loaded at; nullopt when
  // this worker does not know it (the commit is then answered conflict, and the user loaded again).
  std::optional<std::int64_t> starts_made_at(const user_commit& c, bool whole) const;
  // The request-owner index's hashes this worker has given their expiry, acknowledged (each once:
  // a commit that adds a field to a hash not in here sends its PEXPIREAT); emptied when it holds
  // four generations' worth.
  std::unordered_set<std::string> expiring_request_keys_;
  std::int64_t read_ms_ = 0;  // the last TIME, in ms
  std::optional<std::chrono::steady_clock::time_point> read_at_;
};

}  // namespace streamgate
