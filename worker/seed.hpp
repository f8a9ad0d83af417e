#pragma once

// What the worker does once before serving: the rules it decides by, and the demo catalog seeded
// into a store that has none (users made by the decision core exactly as a live create_user).

#include <atomic>
#include <cstdint>
#include <filesystem>

#include "common/config.hpp"
#include "common/error.hpp"
#include "worker/core/user_state.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

core::rules rules_from(const worker_config& config);

// Reads and validates the catalog file, then seeds the store with it. bad_request names the file
// and what is wrong with it.
result<void> seed_catalog(store& s, const std::filesystem::path& catalog_path,
                          const core::rules& rules);

// A store that holds no dataset is seeded by one worker: this one when it is the first to take
// the seeding (store::take_seeding), else it waits until the other has seeded it (or its turn
// lapsed, a worker that died seeding: then it seeds), or until `stop` is set. True when this
// worker seeded.
inline constexpr std::int64_t seeding_turn_ms = 60'000;
result<bool> seed_unless_another_does(store& s, const std::filesystem::path& catalog_path,
                                      const core::rules& rules, const std::atomic<bool>& stop);

}  // namespace streamgate
