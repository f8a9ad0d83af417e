// Reading the Redis store: the seeded marker, the catalog, a batch's load pipeline (the store's
// time, each user's state and starts, the owners of request ids), the user set and a user's
// recent audit lines.

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "worker/store/redis/redis_keys.hpp"
#include "worker/store/redis/redis_packing.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/redis/redis_store_errors.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

namespace {

std::size_t ring_slot(std::string_view digits, const std::string& user_id) {
  std::size_t slot = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), slot);
  if (ec != std::errc{} || end != digits.data() + digits.size() ||
      slot >= core::most_remembered_starts)
    redis_detail::unexpected("user '" + user_id + "' has a start field q:" + std::string(digits) +
                             " outside its ring");
  return slot;
}

// The newest core::remembered_starts_per_user starts of a ring that has had `made` written to it,
// oldest first: as many as the commit script's list kept before the ring (docs/design.md §8).
void read_starts(const std::string& user_id, long long made,
                 const std::unordered_map<std::size_t, std::string_view>& fields,
                 std::vector<core::remembered_start>& out) {
  const auto ring = static_cast<long long>(core::most_remembered_starts);
  if (made < 0 || static_cast<long long>(fields.size()) != std::min(made, ring))
    redis_detail::unexpected("user '" + user_id + "' has " + std::to_string(fields.size()) +
                             " start fields after " + std::to_string(made) + " starts");
  const long long kept = std::min(made, static_cast<long long>(core::remembered_starts_per_user));
  out.reserve(static_cast<std::size_t>(kept));
  for (long long k = made - kept; k < made; ++k) {
    const auto field = fields.find(static_cast<std::size_t>(k % ring));
    if (field == fields.end())
      redis_detail::unexpected("user '" + user_id + "' lacks start " + std::to_string(k));
    auto start = decode_start(field->second);
    if (!start)
      redis_detail::unexpected("a start of user '" + user_id +
                               "' is not one of ours: " + start.error().message);
    out.push_back(std::move(*start));
  }
}

}  // namespace

core::user_state redis_store::read_user(const std::string& id, const redisReply& fields) {
  const redisReply* version = nullptr;
  std::optional<std::string_view> bytes;
  std::vector<std::pair<stream, redis_detail::stream_place>> streams;
  std::unordered_map<std::string_view, std::int64_t> leases;
  const redisReply* starts_made = nullptr;
  std::unordered_map<std::size_t, std::string_view> start_fields;  // by ring slot
  for (std::size_t f = 0; f + 1 < reply_size(fields); f += 2) {
    const std::string_view name = reply_string(reply_at(fields, f));
    const std::string_view value = reply_string(reply_at(fields, f + 1));
    if (name == "v") {
      version = &reply_at(fields, f + 1);
    } else if (name == "s") {
      bytes = value;
    } else if (name.starts_with(redis_detail::stream_field_prefix)) {
      streams.push_back(redis_detail::unpack_stream(
          std::string(name.substr(redis_detail::stream_field_prefix.size())), value, id));
    } else if (name.starts_with(redis_detail::lease_field_prefix)) {
      leases[name.substr(redis_detail::lease_field_prefix.size())] =
          redis_detail::unpack_lease(value, id);
    } else if (name == redis_detail::starts_made_field) {
      starts_made = &reply_at(fields, f + 1);
    } else if (name.starts_with(redis_detail::start_field_prefix)) {
      start_fields[ring_slot(name.substr(redis_detail::start_field_prefix.size()), id)] = value;
    } else {
      redis_detail::unexpected("user '" + id + "' has a field '" + std::string(name) +
                               "' that is not one of ours");
    }
  }
  if (!version || !bytes)
    redis_detail::unexpected("user '" + id + "' lacks its version or its state");
  const long long v = reply_integer(*version);
  if (v < 1) redis_detail::unexpected("user '" + id + "' has version " + std::to_string(v));
  auto state = decode_state(*bytes, static_cast<std::uint64_t>(v));
  if (!state)
    redis_detail::unexpected("the state of user '" + id +
                             "' is not one of ours: " + state.error().message);
  const long long made = starts_made ? reply_integer(*starts_made) : 0;
  read_starts(id, made, start_fields, state->starts);
  starts_made_.insert_or_assign(id, ring_position{static_cast<std::uint64_t>(v), made});
  if (!state->streams.empty()) {
    // Written by an older worker, with its streams inside: its next commit writes them apart.
    if (!streams.empty())
      redis_detail::unexpected("user '" + id + "' has streams both inside its state and apart");
    whole_next_.insert(id);
    return std::move(*state);
  }
  std::sort(streams.begin(), streams.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  state->streams.reserve(streams.size());
  for (auto& [s, place] : streams) {
    const auto lease = leases.find(s.stream_id);
    if (lease == leases.end())
      redis_detail::unexpected("stream '" + s.stream_id + "' of user '" + id + "' has no lease");
    s.expires_at_ms = lease->second;
    state->streams.push_back(std::move(s));
  }
  if (leases.size() != state->streams.size())
    redis_detail::unexpected("user '" + id + "' has a lease of a stream it does not have");
  return std::move(*state);
}

bool redis_store::seeded() {
  // The worker's periodic look at its store: every master's settings too
  // (redis_server_settings.hpp).
  router_.check_masters();
  const std::string key(redis_detail::seeded_key);
  const auto replies = run({{key, {"GET", key}}});
  redis_detail::require_no_error(*replies[0], "GET " + key);
  const bool held = !reply_is_nil(*replies[0]) && reply_string(*replies[0]) == dataset_id_;
  if (held) check_slot_markers();
  return held;
}

dataset_catalog redis_store::load_catalog() {
  const auto replies = run(
      {{std::string(redis_detail::videos_key), {"HGETALL", std::string(redis_detail::videos_key)}},
       {std::string(redis_detail::plans_key), {"HGETALL", std::string(redis_detail::plans_key)}}});
  dataset_catalog catalog;
  catalog.videos =
      redis_detail::unpack_hash(*replies[0], "HGETALL sg:videos", redis_detail::unpack_video);
  catalog.plans =
      redis_detail::unpack_hash(*replies[1], "HGETALL sg:plans", redis_detail::unpack_plan);
  return catalog;
}

void redis_store::note_time(const redisReply& time) {
  redis_detail::require_no_error(time, "TIME");
  const std::int64_t read =
      reply_integer(reply_at(time, 0)) * 1000 + reply_integer(reply_at(time, 1)) / 1000;
  read_ms_ = read_at_ ? std::max(read, projected_ms()) : read;
  read_at_ = std::chrono::steady_clock::now();
}

void redis_store::note_time_of_any(const redis_reply_ptr& time) {
  if (time) return note_time(*time);
  // Keyless: to a master the router is connected to, which that node's is not any more.
  const auto other = run({{"", {"TIME"}}}, true);
  if (!other[0]) redis_detail::unexpected("no redis master answers TIME");
  note_time(*other[0]);
}

std::int64_t redis_store::projected_ms() const {
  return read_ms_ + std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - *read_at_)
                        .count();
}

std::optional<std::int64_t> redis_store::estimated_now_ms() const {
  if (!read_at_ || std::chrono::steady_clock::now() - *read_at_ >= max_reading_age)
    return std::nullopt;
  return projected_ms();
}

loaded_users redis_store::load(const std::vector<std::string>& user_ids,
                               const std::vector<std::string>& request_ids) {
  loaded_users out;
  if (user_ids.empty() && request_ids.empty())
    if (const auto now = estimated_now_ms()) {
      out.now_ms = *now;
      return out;
    }
  std::vector<redis_command> commands;
  commands.reserve(user_ids.size() + request_ids.size() + 1);
  // One node's clock for every worker (the one holding sg:dataset), so all agree on leases.
  commands.push_back({std::string(redis_detail::dataset_key), {"TIME"}});
  for (const std::string& id : user_ids) {
    std::string key = redis_detail::user_key(id);
    commands.push_back({key, {"HGETALL", key}});
  }
  if (!request_ids.empty()) {
    const std::int64_t now = clock_ms();
    for (const std::string& id : request_ids) add_owner_lookups(id, now, commands);
  }
  const auto replies = run(commands, true);

  note_time_of_any(replies[0]);
  out.now_ms = read_ms_;
  out.states.reserve(user_ids.size());
  for (std::size_t i = 0; i < user_ids.size(); ++i) {
    if (!replies[1 + i]) {
      out.unreachable_users.push_back(i);
      out.states.emplace_back();
      continue;
    }
    const redisReply& fields = *replies[1 + i];
    redis_detail::require_no_error(fields, "HGETALL of user '" + user_ids[i] + "'");
    if (reply_size(fields) == 0) {
      out.states.emplace_back();
      continue;
    }
    out.states.emplace_back(read_user(user_ids[i], fields));
  }
  for (std::size_t i = 0; i < request_ids.size(); ++i) {
    const std::size_t first = 1 + user_ids.size() + i * owner_lookups;
    // The lookups of one request id go to one shard's keys, so to one node.
    if (!replies[first]) {
      out.unreachable_requests.push_back(i);
      out.owners.emplace_back();
      continue;
    }
    out.owners.push_back(owner_found(replies, first, request_ids[i]));
  }
  return out;
}

std::int64_t redis_store::clock_ms() {
  if (!read_at_)
    note_time_of_any(run({{std::string(redis_detail::dataset_key), {"TIME"}}}, true)[0]);
  return projected_ms();
}

void redis_store::add_owner_lookups(const std::string& request_id, std::int64_t now_ms,
                                    std::vector<redis_command>& commands) const {
  // The generation before now's (a request of the last memory may be there), now's, and the one
  // after, for a request another worker decided on a clock a round trip ahead of this one.
  const std::int64_t memory = options_.request_memory_ms;
  const std::size_t shard = redis_detail::request_shard_of(request_id);
  const std::int64_t now_generation = redis_detail::request_generation(now_ms, shard, memory);
  for (std::int64_t g = now_generation - 1; g <= now_generation + 1; ++g) {
    std::string key = redis_detail::request_index_key(shard, g);
    commands.push_back({key, {"HGET", key, request_id}});
  }
}

std::optional<std::string> redis_store::owner_found(const std::vector<redis_reply_ptr>& replies,
                                                    std::size_t first,
                                                    const std::string& request_id) {
  // The oldest generation's: of two users who claimed one id across a generation's end (two
  // workers deciding at once), the first keeps it.
  for (std::size_t i = first; i < first + owner_lookups; ++i) {
    redis_detail::require_no_error(*replies[i], "HGET of request '" + request_id + "'");
    if (!reply_is_nil(*replies[i])) return std::string(reply_string(*replies[i]));
  }
  return std::nullopt;
}

std::optional<std::string> redis_store::request_owner(const std::string& request_id) {
  std::vector<redis_command> lookups;
  add_owner_lookups(request_id, clock_ms(), lookups);
  return owner_found(run(lookups), 0, request_id);
}

std::vector<std::string> redis_store::user_ids() {
  const auto replies = run(
      {{std::string(redis_detail::users_key), {"SMEMBERS", std::string(redis_detail::users_key)}}});
  const redisReply& members = *replies[0];
  redis_detail::require_no_error(members, "SMEMBERS sg:users");
  std::vector<std::string> ids;
  ids.reserve(reply_size(members));
  for (std::size_t i = 0; i < reply_size(members); ++i)
    ids.emplace_back(reply_string(reply_at(members, i)));
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::vector<audit_entry> redis_store::recent_audit(const std::string& user_id, int limit) {
  std::vector<audit_entry> entries;
  if (limit <= 0) return entries;
  const std::string key = redis_detail::audit_key(user_id);
  const auto replies = run({{key, {"LRANGE", key, std::to_string(-limit), "-1"}}});
  const redisReply& lines = *replies[0];
  redis_detail::require_no_error(lines, "LRANGE " + key);
  entries.reserve(reply_size(lines));
  for (std::size_t i = reply_size(lines); i-- > 0;)
    entries.push_back(redis_detail::unpack_audit(reply_string(reply_at(lines, i)), user_id));
  return entries;
}

}  // namespace streamgate
