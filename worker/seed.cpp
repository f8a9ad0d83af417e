#include "worker/seed.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "common/bounded_file.hpp"
#include "common/codec.hpp"
#include "common/config.hpp"
#include "worker/core/decisions.hpp"

namespace streamgate {

core::rules rules_from(const worker_config& config) {
  core::rules r;
  r.default_max_streams = config.default_max_streams;
  r.default_policy = config.default_policy;
  r.lease_ms = std::int64_t{config.lease_seconds} * 1000;
  r.request_memory_ms = std::int64_t{config.request_memory_seconds} * 1000;
  return r;
}

result<void> seed_catalog(store& s, const std::filesystem::path& catalog_path,
                          const core::rules& rules) {
  const std::string where = "catalog '" + catalog_path.string() + "'";
  // Bounded: a wrong path (/dev/zero, a huge file) is an error, not memory read without end.
  const auto text = read_bounded_file(catalog_path, max_catalog_bytes, "catalog");
  if (!text) return text.error();
  auto decoded = decode_catalog(*text);
  if (!decoded) return bad_request(where + ": " + decoded.error().message);

  dataset_catalog catalog{std::move(decoded->videos), std::move(decoded->plans)};
  core::rules with_plans = rules;
  with_plans.plans = catalog.plans;
  std::vector<core::user_state> users;
  for (user& u : decoded->users) {
    create_user_request request{u.id, std::move(u.name), u.max_streams, u.policy_override,
                                std::nullopt, u.plan};
    auto created = core::create_user(request, u.id, with_plans);
    if (!created) return bad_request(where + ": " + created.error().message);
    users.push_back(std::move(*created));
  }
  s.seed(catalog, users);
  return {};
}

result<bool> seed_unless_another_does(store& s, const std::filesystem::path& catalog_path,
                                      const core::rules& rules, const std::atomic<bool>& stop) {
  while (!s.seeded() && !stop) {
    if (s.take_seeding(seeding_turn_ms)) {
      if (auto seeded = seed_catalog(s, catalog_path, rules); !seeded) return seeded.error();
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

}  // namespace streamgate
