#pragma once

// The engine's Lua scripts, loaded once per connection with SCRIPT LOAD and called by SHA. A
// Redis that lost its script cache (restarted, SCRIPT FLUSH) answers NOSCRIPT; the caller then
// loads them again and repeats the call, which is safe because a NOSCRIPT call ran nothing.

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "worker/redis_client.hpp"

namespace streamgate {

enum class script : std::size_t {
  start,
  heartbeat,
  stop,
  stop_all,
  expire,
  view,
  create_user,
  patch_user,
  audit,
  request,
  lease_due,
  lease_index,
};
inline constexpr std::size_t script_count = 12;

class redis_scripts final {
 public:
  redis_scripts();
  // Loads every script; throws store_unavailable when Redis refuses one (a syntax error is a
  // bug, found by the unit tests).
  void load(redis_client& client);
  const std::string& sha(script s) const { return shas_[static_cast<std::size_t>(s)]; }

 private:
  std::array<std::string, script_count> bodies_;
  std::array<std::string, script_count> shas_;
};

bool is_noscript(const redisReply& r);

}  // namespace streamgate
