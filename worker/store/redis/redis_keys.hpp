#pragma once

// The names of the Redis store's keys (their layout is described in redis_store.hpp). Internal to
// the Redis store (redis_store*.cpp).

#include <cstddef>
#include <string>
#include <string_view>

#include "worker/store/redis/router.hpp"

namespace streamgate::redis_detail {

inline constexpr std::string_view users_key = "sg:users";
inline constexpr std::string_view videos_key = "sg:videos";
inline constexpr std::string_view plans_key = "sg:plans";
inline constexpr std::string_view dataset_key = "sg:dataset";
inline constexpr std::string_view seeded_key = "sg:seeded";
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
inline std::string request_key(std::string_view request_id) {
  return "sg:request:{" + std::string(request_id) + "}";
}

}  // namespace streamgate::redis_detail
