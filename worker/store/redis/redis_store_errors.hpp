#pragma once

// How the Redis store fails on a reply it did not expect (an error reply, or one of another shape
// than its command gives): store_unavailable, naming what was asked. Internal to the Redis store.

#include <string>
#include <string_view>

#include "worker/store/redis/connection.hpp"
#include "worker/store/store.hpp"

namespace streamgate::redis_detail {

[[noreturn]] inline void unexpected(std::string_view what) {
  throw store_unavailable("redis: " + std::string(what));
}

inline void require_no_error(const redisReply& r, std::string_view what) {
  if (reply_is_error(r)) unexpected(std::string(what) + ": " + std::string(reply_string(r)));
}

}  // namespace streamgate::redis_detail
