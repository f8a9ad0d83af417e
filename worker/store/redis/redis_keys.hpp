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

inline std::string user_key(std::string_view user_id) {
  return "{user:" + std::string(user_id) + "}";
}
inline std::string audit_key(std::string_view user_id) { return user_key(user_id) + ":audit"; }
inline std::string starts_key(std::string_view user_id) { return user_key(user_id) + ":starts"; }
inline std::string lease_index_key(std::size_t slot) {
  return "{" + redis_slot_tags()[slot] + "}:leases";
}
// The lease index of the user's slot: the commit script writes it with the user's keys.
inline std::string lease_index_of(std::string_view user_id) {
  return lease_index_key(redis_slot_of(user_key(user_id)));
}
inline std::string active_key(std::size_t slot) {
  return "{" + redis_slot_tags()[slot] + "}:active";
}
inline std::string active_of(std::string_view user_id) {
  return active_key(redis_slot_of(user_key(user_id)));
}
inline std::string request_key(std::string_view request_id) {
  return "sg:request:{" + std::string(request_id) + "}";
}

}  // namespace streamgate::redis_detail
