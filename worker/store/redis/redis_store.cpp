// The Redis store's life and its sweeps over the shards' keys: open (options, the commit script,
// the dataset id, a single server's per-slot keys merged), the live-stream total and the lease
// indexes' due users, and the marks of the worker lives. Reading is in redis_store_load.cpp,
// writing in redis_store_commit.cpp.

#include "worker/store/redis/redis_store.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "common/ids.hpp"
#include "common/messages.hpp"
#include "worker/store/redis/redis_keys.hpp"
#include "worker/store/redis/redis_server_settings.hpp"
#include "worker/store/redis/redis_store_errors.hpp"

namespace streamgate {

namespace {

// LTRIM and unpack() in commit.lua: a few thousand rows per script call stay far below Lua's
// C stack limit (LUAI_MAXCSTACK, 8000).
constexpr std::size_t max_audit_cap = 5000;

}  // namespace

redis_store::redis_store(std::vector<redis_address> seeds, redis_store_options options)
    : options_(options),
      router_(std::move(seeds), options.timeout, redis_detail::durable_settings_check()) {}

std::unique_ptr<redis_store> redis_store::open(std::vector<redis_address> seeds,
                                               redis_store_options options) {
  if (options.audit_cap < 1 || options.audit_cap > max_audit_cap)
    throw std::invalid_argument("redis store: audit cap " + std::to_string(options.audit_cap) +
                                " is not within 1.." + std::to_string(max_audit_cap));
  if (options.slots_per_scan < 1 || options.slots_per_scan > redis_slot_count)
    throw std::invalid_argument("redis store: slots per scan " +
                                std::to_string(options.slots_per_scan) + " is not within 1.." +
                                std::to_string(redis_slot_count));
  if (options.request_memory_ms < 1)
    throw std::invalid_argument("redis store: request memory " +
                                std::to_string(options.request_memory_ms) + " ms is not positive");
  std::unique_ptr<redis_store> opened(new redis_store(std::move(seeds), options));
  opened->load_script();
  const std::string key(redis_detail::dataset_key);
  if (!opened->router_.cluster()) {
    // A store that has no dataset yet has no per-slot keys to merge: marked so before its
    // dataset exists, so whoever sees the dataset sees the mark, and no worker starts merging a
    // store that is being made (merge_slot_keys).
    const auto fresh = opened->run({{key, {"EXISTS", key}}});
    redis_detail::require_no_error(*fresh[0], "EXISTS " + key);
    if (reply_integer(*fresh[0]) == 0) {
      const std::string marker(redis_detail::one_shard_key);
      redis_detail::require_no_error(*opened->run({{marker, {"SET", marker, "1"}}})[0],
                                     "SET " + marker);
    }
  }
  // The first worker to open an empty store names its dataset; NX, so workers opening at once
  // agree on the one that won. Both commands go to the key's node, in this order.
  const auto replies = opened->run({{key, {"SET", key, new_id("d_"), "NX"}}, {key, {"GET", key}}});
  redis_detail::require_no_error(*replies[0], "SET " + key);
  if (reply_is_nil(*replies[1])) redis_detail::unexpected(key + " vanished right after it was set");
  opened->dataset_id_ = std::string(reply_string(*replies[1]));
  if (!opened->router_.cluster()) opened->merge_slot_keys();
  return opened;
}

std::size_t redis_store::shard_count() const {
  return router_.cluster() ? redis_slot_count : 1;
}

void redis_store::merge_slot_keys() {
  const std::string marker(redis_detail::one_shard_key);
  // The marker is WATCHed, so workers opening at once merge once: the others' EXEC finds it
  // changed and is refused, and their next look finds it set. Only the marker: WATCH is
  // quadratic in its keys (5 s for 16384). So workers of an older version, which still write
  // per-slot keys, must be stopped before one of this version opens (README, "Scaling out").
  // The common case first, in one cheap round trip.
  const auto merged = run({{marker, {"GET", marker}}});
  redis_detail::require_no_error(*merged[0], "GET " + marker);
  if (!reply_is_nil(*merged[0])) return;
  for (int attempt = 0; attempt < 3; ++attempt) {
    redis_command counts{marker, {"MGET"}};
    for (std::size_t slot = 1; slot < redis_slot_count; ++slot)
      counts.args.push_back(redis_detail::active_key(slot));
    const auto looked = run({{marker, {"WATCH", marker}}, {marker, {"GET", marker}}, counts});
    redis_detail::require_no_error(*looked[0], "WATCH of the per-slot keys");
    if (!reply_is_nil(*looked[1])) {
      run({{marker, {"UNWATCH"}}});
      return;
    }
    long long streams = 0;
    const redisReply& values = *looked[2];
    for (std::size_t i = 0; i < reply_size(values); ++i)
      if (!reply_is_nil(reply_at(values, i))) streams += reply_integer(reply_at(values, i));
    redis_command merge{marker, {"ZUNIONSTORE", redis_detail::lease_index_key(0),
                                 std::to_string(redis_slot_count)}};
    redis_command drop{marker, {"DEL"}};
    for (std::size_t slot = 0; slot < redis_slot_count; ++slot) {
      merge.args.push_back(redis_detail::lease_index_key(slot));
      if (slot == 0) continue;
      drop.args.push_back(redis_detail::lease_index_key(slot));
      drop.args.push_back(redis_detail::active_key(slot));
    }
    const auto done = run({{marker, {"MULTI"}},
                           merge,
                           {marker, {"INCRBY", redis_detail::active_key(0), std::to_string(streams)}},
                           drop,
                           {marker, {"SET", marker, "1"}},
                           {marker, {"EXEC"}}});
    redis_detail::require_no_error(*done.back(), "merging the per-slot keys");
    if (!reply_is_nil(*done.back())) return;
  }
  redis_detail::unexpected("the per-slot keys were being merged by another worker for too long");
}

std::optional<std::uint64_t> redis_store::active_streams() {
  std::vector<redis_command> commands;
  commands.reserve(shard_count());
  for (std::size_t slot = 0; slot < shard_count(); ++slot) {
    std::string key = redis_detail::active_key(slot);
    commands.push_back({key, {"GET", key}});
  }
  long long total = 0;
  for (const auto& r : run(commands)) {
    redis_detail::require_no_error(*r, "GET of a live-stream counter");
    if (!reply_is_nil(*r)) total += reply_integer(*r);
  }
  return static_cast<std::uint64_t>(std::max(total, 0LL));
}

void redis_store::forget(const std::vector<std::string>& user_ids) {
  // A commit of a user whose ring position is not known here is refused as a conflict, and the
  // decider loads the user again (starts_made_at): forgetting costs a reload, never a wrong ring.
  for (const std::string& id : user_ids) {
    starts_made_.erase(id);
    whole_next_.erase(id);
  }
}

std::vector<std::string> redis_store::due_users(std::int64_t now_ms, std::size_t max) {
  std::vector<std::string> due;
  if (max == 0) return due;
  const std::size_t first = next_slot_;
  const std::size_t shards = shard_count();
  const std::size_t scanned = std::min(options_.slots_per_scan, shards);
  const std::string now = std::to_string(now_ms);
  const std::string limit = std::to_string(max);
  // One shard's index names every due user: read a page of it per call, so due users that are
  // not handled yet (or not this worker's) leave room for the others.
  const std::size_t offset = shards == 1 ? next_offset_ : 0;
  std::vector<redis_command> commands;
  commands.reserve(scanned);
  for (std::size_t k = 0; k < scanned; ++k) {
    std::string key = redis_detail::lease_index_key((first + k) % shards);
    commands.push_back(
        {key, {"ZRANGEBYSCORE", key, "-inf", now, "LIMIT", std::to_string(offset), limit}});
  }
  // A Cluster master that cannot be reached: its slots' due users are found in a later pass.
  const auto replies = run(commands, true);
  next_slot_ = (first + scanned) % shards;
  if (shards == 1) next_offset_ = reply_size(*replies[0]) == max ? offset + max : 0;
  for (std::size_t k = 0; k < replies.size(); ++k) {
    if (!replies[k]) continue;
    const redisReply& users = *replies[k];
    redis_detail::require_no_error(users, "ZRANGEBYSCORE of a lease index");
    for (std::size_t i = 0; i < reply_size(users); ++i) {
      if (due.size() == max) {
        // Full: this slot is scanned first next time, so its other due users are not left to
        // wait for a whole pass.
        next_slot_ = (first + k) % shards;
        return due;
      }
      due.emplace_back(reply_string(reply_at(users, i)));
    }
  }
  return due;
}

std::vector<std::string> redis_store::live_workers(const std::string& life, std::int64_t for_ms) {
  // On the store's clock, so every worker's marks and lapses agree.
  const std::int64_t now = clock_ms();
  const std::string key(redis_detail::workers_key);
  const auto replies = run({{key, {"ZADD", key, std::to_string(now + for_ms), life}},
                            {key, {"ZREMRANGEBYSCORE", key, "-inf", std::to_string(now - 1)}},
                            {key, {"ZRANGE", key, "0", "-1"}}});
  for (const auto& r : replies) redis_detail::require_no_error(*r, "the worker lives in " + key);
  std::vector<std::string> lives;
  const redisReply& named = *replies[2];
  for (std::size_t i = 0; i < reply_size(named) && lives.size() < max_worker_lives; ++i) {
    // Only what a worker of ours writes: an api would refuse the whole heartbeat otherwise.
    const std::string_view id = reply_string(reply_at(named, i));
    if (is_valid_id(id)) lives.emplace_back(id);
  }
  return lives;
}

void redis_store::end_life(const std::string& life) {
  const std::string key(redis_detail::workers_key);
  redis_detail::require_no_error(*run({{key, {"ZREM", key, life}}})[0], "ZREM of " + key);
}

std::optional<std::string> redis_store::settings() {
  const std::string key(redis_detail::settings_key);
  const auto replies = run({{key, {"GET", key}}});
  redis_detail::require_no_error(*replies[0], "GET of " + key);
  if (reply_is_nil(*replies[0])) return std::nullopt;
  return std::string(reply_string(*replies[0]));
}

void redis_store::set_settings(const std::string& text) {
  const std::string key(redis_detail::settings_key);
  redis_detail::require_no_error(*run({{key, {"SET", key, text}}})[0], "SET of " + key);
}

bool redis_store::take_seeding(std::int64_t for_ms) {
  const std::string key(redis_detail::seeding_key);
  const auto replies = run({{key, {"SET", key, dataset_id_, "NX", "PX", std::to_string(for_ms)}}});
  redis_detail::require_no_error(*replies[0], "SET NX of " + key);
  return !reply_is_nil(*replies[0]);
}

std::string redis_store::announce_settings(const std::string& text, std::int64_t for_ms) {
  const std::string key(redis_detail::settings_announcement_key);
  // One command, so no other announcement can come between the look and the write. GET answers
  // what the key held before: nil when this announcement was written.
  const auto replies = run({{key, {"SET", key, text, "NX", "PX", std::to_string(for_ms), "GET"}}});
  redis_detail::require_no_error(*replies[0], "SET NX of " + key);
  return reply_is_nil(*replies[0]) ? text : std::string(reply_string(*replies[0]));
}

}  // namespace streamgate
