#pragma once

// The scale-out engine: several workers share one Redis and any of them serves any request.
// Each decision is one Lua script (worker/redis/*.lua) on the keys of one user, all under the
// hash tag {user:<id>}, so it is atomic and runs on one Redis Cluster slot; lease times come
// from Redis's clock inside the script. A batch costs one round trip: one EVALSHA per request,
// pipelined (plus one round trip that claims the batch's requestIds when it holds starts).
//
// Durability is Redis's persistence: a reply or an event leaves only after the script's reply,
// so with `appendonly yes` and `appendfsync always` no one hears of a decision a crash of Redis
// could lose (`everysec` risks the last second).
//
// Keys: per user {user:U} (hash name, max, policy, token), {user:U}:streams (list of ids, oldest
// first), {user:U}:stream (hash id -> stream), {user:U}:seq (event counter), {user:U}:audit
// (capped list), {user:U}:lease_version, {user:U}:request:<requestId> (the verdict, with a TTL).
// Global: sg:request:{<requestId>} (its owner, same TTL), sg:users (set), sg:videos (hash),
// sg:catalog (seeded marker), sg:epoch, and the lease index {sg:leases} (ZSET user -> earliest
// expiry) with {sg:leases}:versions, which every worker scans to expire leases, and the live
// stream counts {sg:leases}:active (per user) and {sg:leases}:active_total kept with it.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "worker/decision_engine.hpp"
#include "worker/redis_client.hpp"
#include "worker/redis_scripts.hpp"
#include "worker/stream_limiter.hpp"

namespace streamgate {

struct redis_engine_options {
  limiter_options limits;
  int audit_cap = max_audit_limit;                             // entries kept per user
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // connect and each reply
  int expire_per_batch = 100;  // users whose leases one batch expires at most
};

class redis_engine final : public decision_engine {
 public:
  // Connects, loads the scripts, seeds an empty Redis with the catalog file (bad_request names
  // the file and what is wrong) and loads the video catalog. Throws store_unavailable.
  static result<std::unique_ptr<redis_engine>> open(const redis_address& address,
                                                    redis_engine_options options,
                                                    const std::filesystem::path& catalog);

  void decide_batch(const std::vector<request_body>& requests, std::vector<reply>& replies,
                    std::vector<published_event>& events) override;
  // The total the lease index keeps ({sg:leases}:active_total), one round trip; it trails the
  // scripts by one batch, as the index does.
  std::optional<std::uint64_t> active_streams() override;
  std::chrono::milliseconds idle_wait() const override { return idle_wait_; }

  const std::string& epoch() const { return epoch_; }

  // One parsed script reply; public for the batch code in redis_engine.cpp.
  struct lease_update {
    std::string user_id;
    long long version = 0;
    long long earliest = -1;
    long long active = 0;  // the user's live streams
  };

 private:
  redis_engine(const redis_address& address, redis_engine_options options);
  result<void> seed(const std::filesystem::path& catalog);
  void load_videos();
  void run_batch(const std::vector<request_body>& requests, std::vector<reply>& replies,
                 std::vector<published_event>& events);

  friend class batch_planner;

  redis_engine_options options_;
  redis_client client_;
  redis_scripts scripts_;
  std::string epoch_;
  std::map<std::string, video> videos_;      // the catalog, sorted by id; fixed once seeded
  std::vector<lease_update> lease_updates_;  // from the last batch, sent with the next
  std::vector<std::string> due_users_;       // found by the last scan, expired by the next batch
  std::chrono::milliseconds idle_wait_{0};
};

}  // namespace streamgate
