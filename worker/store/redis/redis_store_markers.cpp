// Every Cluster master's marker of the dataset (redis_store.hpp, check_slot_markers).

#include <string>
#include <vector>

#include "worker/store/redis/connection.hpp"
#include "worker/store/redis/redis_keys.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/redis/redis_store_errors.hpp"

namespace streamgate {

void redis_store::check_slot_markers() {
  const auto firsts = router_.first_slot_of_each_master();
  if (firsts.empty()) return;
  const std::string flag(redis_detail::slot_markers_key);
  std::vector<redis_command> look{{flag, {"GET", flag}}};
  for (const auto& [slot, master] : firsts) {
    std::string key = redis_detail::slot_marker_key(slot);
    look.push_back({key, {"GET", key}});
  }
  const auto replies = run(look);
  for (const auto& r : replies) redis_detail::require_no_error(*r, "GET of a slot's marker");
  const auto holds_dataset = [&](const redisReply& r) {
    return !reply_is_nil(r) && reply_string(r) == dataset_id_;
  };
  // A dataset seeded by an older worker, or just now: its markers are written once.
  if (!holds_dataset(*replies[0])) return write_slot_markers();
  for (std::size_t k = 0; k < firsts.size(); ++k)
    if (!holds_dataset(*replies[k + 1]))
      throw store_lost("redis " + to_string(firsts[k].second) + " holds no data of the dataset '" +
                       dataset_id_ + "' (the marker of its slot " +
                       std::to_string(firsts[k].first) +
                       " is gone): a master restarted without its data (its AOF lost, or the "
                       "node replaced empty) lost its users and their streams; not serving it "
                       "(docs/design.md §8)");
}

void redis_store::write_slot_markers() {
  // One pipeline per master, so one round trip however many slots.
  std::vector<redis_command> sets;
  sets.reserve(redis_slot_count);
  for (std::size_t slot = 0; slot < redis_slot_count; ++slot) {
    std::string key = redis_detail::slot_marker_key(slot);
    sets.push_back({key, {"SET", key, dataset_id_}});
  }
  for (const auto& r : run(sets)) redis_detail::require_no_error(*r, "SET of a slot's marker");
  // Last: a worker stopped before it writes them all again.
  const std::string flag(redis_detail::slot_markers_key);
  redis_detail::require_no_error(*run({{flag, {"SET", flag, dataset_id_}}})[0], "SET of " + flag);
}

}  // namespace streamgate
