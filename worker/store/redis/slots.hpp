#pragma once

// Redis Cluster's key slots (the Redis Cluster specification), for the router that sends each
// command to the node owning its key's slot and for the per-slot keys the store names.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace streamgate {

inline constexpr std::uint16_t redis_slot_count = 16384;

// The Cluster slot of a key: CRC16 (XMODEM) of the key, or of its hash tag {...} when it has a
// non-empty one, modulo 16384.
std::uint16_t redis_slot_of(std::string_view key);

// A hash tag for every slot ("{<tag>}" keys land in that slot), the same on every worker, so
// per-slot keys (the lease index) can be named.
const std::array<std::string, redis_slot_count>& redis_slot_tags();

}  // namespace streamgate
