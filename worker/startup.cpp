#include "worker/startup.hpp"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "common/codec.hpp"
#include "common/ids.hpp"

namespace streamgate {

limiter_options limiter_options_from(const worker_config& config) {
  limiter_options options;
  options.default_max_streams = config.default_max_streams;
  options.lease = std::chrono::seconds(config.lease_seconds);
  options.default_policy = config.default_policy;
  options.request_memory = std::chrono::seconds(config.request_memory_seconds);
  // Sequences are not stored: a restarted worker starts them again under a new epoch.
  options.epoch = new_id("e_");
  return options;
}

result<void> seed_catalog(sqlite_store& store, const std::filesystem::path& catalog_path,
                          const limiter_options& options) {
  const std::string where = "catalog '" + catalog_path.string() + "'";
  std::ifstream file(catalog_path, std::ios::binary);
  if (!file) return bad_request("cannot read the " + where);
  std::ostringstream text;
  text << file.rdbuf();
  auto decoded = decode_catalog(text.str());
  if (!decoded) return bad_request(where + ": " + decoded.error().message);

  stream_limiter seeder(options);
  for (video& v : decoded->videos) seeder.add_video(std::move(v));
  for (user& u : decoded->users) {
    auto created = seeder.create_user(
        {std::move(u.id), std::move(u.name), u.max_streams, u.policy_override});
    if (!created) return bad_request(where + ": " + created.error().message);
  }
  store.commit(seeder.take_changes());
  return {};
}

void restore(stream_limiter& limiter, stored_state state, instant at) {
  for (user& u : state.users) limiter.load_user(std::move(u));
  for (video& v : state.videos) limiter.load_video(std::move(v));
  for (stream& s : state.streams) limiter.load_stream(std::move(s), at);
  for (verdict& v : state.verdicts) limiter.load_verdict(std::move(v), at);
}

}  // namespace streamgate
