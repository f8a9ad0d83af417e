#include "worker/server/dataset_settings.hpp"

#include <algorithm>
#include <optional>
#include <vector>

namespace streamgate {

namespace {

// A live worker's mark lasts this long; reading the lives marks nobody (docs/design.md §9).
constexpr std::int64_t probe_mark_ms = 1;

std::string describe(const std::optional<std::string>& settings) {
  return settings ? "'" + *settings + "'" : "none";
}

}  // namespace

std::string settings_text(const worker_config& config) {
  return "--default-max-streams " + std::to_string(config.default_max_streams) + " --policy " +
         std::string(to_string(config.default_policy)) + " --lease-seconds " +
         std::to_string(config.lease_seconds) + " --request-memory-seconds " +
         std::to_string(config.request_memory_seconds) + " --audit-lines-per-user " +
         std::to_string(config.audit_lines_per_user);
}

void claim_settings(store& s, const std::string& life, const std::string& mine) {
  if (s.exclusive()) return;
  const std::optional<std::string> held = s.settings();
  if (held && held != mine) {
    // This life is marked for a millisecond and unmarked at once: the other lives are the
    // question, and a worker refused must not be named alive to the apis.
    std::vector<std::string> lives = s.live_workers(life, probe_mark_ms);
    s.end_life(life);
    std::erase(lives, life);
    if (!lives.empty())
      throw settings_disagree("the dataset '" + s.dataset_id() + "' is served by " +
                              std::to_string(lives.size()) + " worker(s) with the settings " +
                              describe(held) + ", and this one was given '" + mine +
                              "': give every worker the same ones (to change them, stop every "
                              "worker, then start them with the new ones)");
  }
  // Two workers that start at once with other settings would each find no worker alive, both
  // claim, and both decide by their own until the next check: a user given 5 streams by one
  // keeps them under the other's 3. So a claim is announced first, and only the first
  // announcement is let in, until the worker's life is marked (docs/design.md §8, "Settings").
  const std::string announced = s.announce_settings(mine, settings_announcement_ms);
  if (announced != mine)
    throw settings_disagree("a worker starting for the dataset '" + s.dataset_id() +
                            "' at the same moment claims the settings '" + announced +
                            "', and this one was given '" + mine +
                            "': give every worker the same ones");
  if (held != mine) s.set_settings(mine);
}

void check_settings(store& s, const std::string& mine) {
  if (s.exclusive()) return;
  const std::optional<std::string> held = s.settings();
  if (held != mine)
    throw store_lost("the dataset '" + s.dataset_id() + "' is now served with the settings " +
                     describe(held) + " (another worker claimed them) and this worker has '" +
                     mine + "': not serving it");
}

}  // namespace streamgate
