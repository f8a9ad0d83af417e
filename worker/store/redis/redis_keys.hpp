#pragma once

// The names of the Redis store's keys (their layout is described in redis_store.hpp). Internal to
// the Redis store (redis_store*.cpp).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "worker/store/redis/router.hpp"

namespace streamgate::redis_detail {

inline constexpr std::string_view users_key = "sg:users";
inline constexpr std::string_view videos_key = "sg:videos";
inline constexpr std::string_view plans_key = "sg:plans";
inline constexpr std::string_view dataset_key = "sg:dataset";
inline constexpr std::string_view seeded_key = "sg:seeded";
inline constexpr std::string_view seeding_key = "sg:seeding";
inline constexpr std::string_view workers_key = "sg:workers";
// Beside sg:seeded (its hash tag is that key's name, so one slot holds both): present once every
// slot holds its marker (slot_marker_key); a master that loses its data loses the flag with
// sg:seeded or its slots' markers.
inline constexpr std::string_view slot_markers_key = "{sg:seeded}:slot-markers";
inline constexpr std::string_view settings_key = "sg:settings";
inline constexpr std::string_view settings_announcement_key = "sg:settings-announced";
// On a single server: present once the per-slot lease indexes and live-stream counts of an older
// store were merged into slot 0's (redis_store::merge_slot_keys).
inline constexpr std::string_view one_shard_key = "sg:one-shard";

// The user hash's fields besides v and s: a live stream apart (redis_packing.hpp) and its lease;
// the number of starts written so far and, in a ring of core::most_remembered_starts fields, start
// number k at q:<k mod that size> (commit.lua).
inline constexpr std::string_view stream_field_prefix = "t:";
inline constexpr std::string_view lease_field_prefix = "e:";
inline constexpr std::string_view starts_made_field = "n";
inline constexpr std::string_view start_field_prefix = "q:";

inline std::string user_key(std::string_view user_id) {
  return "{user:" + std::string(user_id) + "}";
}
inline std::string audit_key(std::string_view user_id) { return user_key(user_id) + ":audit"; }
inline std::string slot_marker_key(std::size_t slot) {
  return "{" + redis_slot_tags()[slot] + "}:seeded";
}
inline std::string lease_index_key(std::size_t slot) {
  return "{" + redis_slot_tags()[slot] + "}:leases";
}
inline std::string active_key(std::size_t slot) {
  return "{" + redis_slot_tags()[slot] + "}:active";
}
// The slot whose lease index and live-stream count hold a user. On a Cluster, its own: a commit
// script's keys must share one slot, and no one key is hot. A single server is one shard: slot
// 0's keys hold every user, so a commit call writes each once for all its users and the sweep is
// one command (docs/design.md §8).
inline std::size_t shard_slot_of(std::string_view user_id, bool cluster) {
  return cluster ? redis_slot_of(user_key(user_id)) : 0;
}

// The request-owner index: request id -> the user who decided it, as fields of hashes, one per
// shard of request ids and generation of the request memory (docs/design.md §8), so it adds a few
// thousand keys to Redis's key table instead of one key with a TTL per start. Each shard's
// generations begin `shard / request_shards` of a memory later than the first shard's, so the
// shards' hashes expire one after another, not all at once.
inline constexpr std::size_t request_shards = 1024;
inline std::size_t request_shard_of(std::string_view request_id) {
  return redis_slot_of(request_id) % request_shards;
}
inline std::int64_t request_offset_ms(std::size_t shard, std::int64_t memory_ms) {
  return static_cast<std::int64_t>(shard) * memory_ms / static_cast<std::int64_t>(request_shards);
}
// The generation of the shard's hash that a request decided at `at_ms` goes into.
inline std::int64_t request_generation(std::int64_t at_ms, std::size_t shard,
                                       std::int64_t memory_ms) {
  return (at_ms + request_offset_ms(shard, memory_ms)) / memory_ms;
}
// When a generation's hash expires: a memory after its last request was decided.
inline std::int64_t request_generation_expiry_ms(std::int64_t generation, std::size_t shard,
                                                 std::int64_t memory_ms) {
  return (generation + 2) * memory_ms - request_offset_ms(shard, memory_ms);
}
// On the slot of every 16th tag, so a Cluster's masters share the shards evenly.
inline std::string request_index_key(std::size_t shard, std::int64_t generation) {
  return "sg:requests:{" + redis_slot_tags()[shard * (redis_slot_count / request_shards)] +
         "}:" + std::to_string(generation);
}

}  // namespace streamgate::redis_detail
