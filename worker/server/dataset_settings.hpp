#pragma once

// The settings every worker of a shared store decides by (docs/design.md §8, "Settings"): the
// default limit and policy, the lease, the request memory and the audit cap. Two workers of one
// dataset with other ones would give a user another limit, policy or lease by the route its
// requests take, and a route change (a worker stopped) would change them under running streams:
// a black-box probe saw a user allowed 5 streams by one worker and denied at 3 by the other. So
// the store keeps the dataset's settings, and a worker with others does not serve it. An
// exclusive store (SQLite) has one worker, whose flags are its settings.

#include <cstdint>
#include <stdexcept>
#include <string>

#include "common/config.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

// A worker whose settings are not those the live workers of its dataset decide by.
class settings_disagree final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The settings as the store keeps them, flags and values: "--default-max-streams 3 --policy deny
// ...", so a refusal can show both sides.
std::string settings_text(const worker_config& config);

// At start, before this worker serves (`life`: a life no worker has): the dataset's settings become
// `mine` when it has none (a new dataset, or one of a version that kept none) or when no worker
// lives (so they change when every worker is stopped and started with new ones). Throws
// settings_disagree when a live worker decides by others, or a worker starting at the same moment
// claims others; store_unavailable passes through. The claim is announced for
// settings_announcement_ms: the worker must mark its life alive by then (worker_loop does as soon
// as its sockets are bound), and its mark then refuses the workers with others in its place.
inline constexpr std::int64_t settings_announcement_ms = 1'500;
void claim_settings(store& s, const std::string& life, const std::string& mine);

// Then at every dataset check: throws store_lost when the dataset's settings are no longer
// `mine`: a worker that started while none lived claimed others, or two workers with different
// ones started at once and the later claim stands.
void check_settings(store& s, const std::string& mine);

}  // namespace streamgate
