// The Redis store's life and its sweeps over the per-slot keys: open (options, the commit script,
// the dataset id), the live-stream total and the lease indexes' due users. Reading is in
// redis_store_load.cpp, writing in redis_store_commit.cpp.

#include "worker/store/redis/redis_store.hpp"

#include <algorithm>
#include <stdexcept>

#include "common/ids.hpp"
#include "worker/store/redis/redis_keys.hpp"
#include "worker/store/redis/redis_store_errors.hpp"

namespace streamgate {

namespace {

// LTRIM and unpack() in commit.lua: a few thousand rows per script call stay far below Lua's
// C stack limit (LUAI_MAXCSTACK, 8000).
constexpr std::size_t max_audit_cap = 5000;

}  // namespace

redis_store::redis_store(std::vector<redis_address> seeds, redis_store_options options)
    : options_(options), router_(std::move(seeds), options.timeout) {}

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
  // The first worker to open an empty store names its dataset; NX, so workers opening at once
  // agree on the one that won. Both commands go to the key's node, in this order.
  const std::string key(redis_detail::dataset_key);
  const auto replies = opened->run({{key, {"SET", key, new_id("d_"), "NX"}}, {key, {"GET", key}}});
  redis_detail::require_no_error(*replies[0], "SET " + key);
  if (reply_is_nil(*replies[1])) redis_detail::unexpected(key + " vanished right after it was set");
  opened->dataset_id_ = std::string(reply_string(*replies[1]));
  return opened;
}

std::optional<std::uint64_t> redis_store::active_streams() {
  std::vector<redis_command> commands;
  commands.reserve(redis_slot_count);
  for (std::size_t slot = 0; slot < redis_slot_count; ++slot) {
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

std::vector<std::string> redis_store::due_users(std::int64_t now_ms, std::size_t max) {
  std::vector<std::string> due;
  if (max == 0) return due;
  const std::size_t first = next_slot_;
  const std::string now = std::to_string(now_ms);
  const std::string limit = std::to_string(max);
  std::vector<redis_command> commands;
  commands.reserve(options_.slots_per_scan);
  for (std::size_t k = 0; k < options_.slots_per_scan; ++k) {
    std::string key = redis_detail::lease_index_key((first + k) % redis_slot_count);
    commands.push_back({key, {"ZRANGEBYSCORE", key, "-inf", now, "LIMIT", "0", limit}});
  }
  const auto replies = run(commands);
  next_slot_ = (first + options_.slots_per_scan) % redis_slot_count;
  for (std::size_t k = 0; k < replies.size(); ++k) {
    const redisReply& users = *replies[k];
    redis_detail::require_no_error(users, "ZRANGEBYSCORE of a lease index");
    for (std::size_t i = 0; i < reply_size(users); ++i) {
      if (due.size() == max) {
        // Full: this slot is scanned first next time, so its other due users are not left to
        // wait for a whole pass.
        next_slot_ = (first + k) % redis_slot_count;
        return due;
      }
      due.emplace_back(reply_string(reply_at(users, i)));
    }
  }
  return due;
}

}  // namespace streamgate
