#pragma once

// What the worker does once before serving: seed an empty store with the demo catalog, and
// rebuild the limiter from everything the store holds. Kept out of main so it is testable.

#include <filesystem>

#include "common/clock.hpp"
#include "common/config.hpp"
#include "common/error.hpp"
#include "worker/sqlite_store.hpp"
#include "worker/stream_limiter.hpp"

namespace streamgate {

limiter_options limiter_options_from(const worker_config& config);

// Reads and validates the catalog file, then saves its users and videos in one commit. They go
// through a limiter of their own so that they are checked and recorded exactly as a live
// create_user is. bad_request names the file and what is wrong with it.
result<void> seed_catalog(sqlite_store& store, const std::filesystem::path& catalog_path,
                          const limiter_options& options);

// Loads a stored state into a limiter that holds nothing yet.
void restore(stream_limiter& limiter, stored_state state, instant at);

}  // namespace streamgate
