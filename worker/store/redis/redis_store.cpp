#include "worker/store/redis/redis_store.hpp"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "common/ids.hpp"
#include "worker/store/redis/commit_script.hpp"
#include "worker/store/state_codec.hpp"

namespace streamgate {

namespace {

constexpr std::string_view users_key = "sg:users";
constexpr std::string_view videos_key = "sg:videos";
constexpr std::string_view plans_key = "sg:plans";
constexpr std::string_view dataset_key = "sg:dataset";
constexpr std::string_view seeded_key = "sg:seeded";
// LTRIM and unpack() in commit.lua: a few thousand rows per script call stay far below Lua's
// C stack limit (LUAI_MAXCSTACK, 8000).
constexpr std::size_t max_audit_cap = 5000;
// The first byte of every packed value, so a later layout can be told apart.
constexpr char packing_version = '\x01';

std::string user_key(std::string_view user_id) { return "{user:" + std::string(user_id) + "}"; }
std::string audit_key(std::string_view user_id) { return user_key(user_id) + ":audit"; }
std::string starts_key(std::string_view user_id) { return user_key(user_id) + ":starts"; }
std::string lease_index_key(std::size_t slot) { return "{" + redis_slot_tags()[slot] + "}:leases"; }
// The lease index of the user's slot: the commit script writes it with the user's keys.
std::string lease_index_of(std::string_view user_id) {
  return lease_index_key(redis_slot_of(user_key(user_id)));
}
std::string active_key(std::size_t slot) { return "{" + redis_slot_tags()[slot] + "}:active"; }
std::string active_of(std::string_view user_id) {
  return active_key(redis_slot_of(user_key(user_id)));
}
std::string request_key(std::string_view request_id) {
  return "sg:request:{" + std::string(request_id) + "}";
}

[[noreturn]] void unexpected(std::string_view what) {
  throw store_unavailable("redis: " + std::string(what));
}

void require_no_error(const redisReply& r, std::string_view what) {
  if (reply_is_error(r)) unexpected(std::string(what) + ": " + std::string(reply_string(r)));
}

bool is_noscript(const redisReply& r) {
  return reply_is_error(r) && reply_string(r).starts_with("NOSCRIPT");
}

// Catalog entries and audit lines, compactly: unsigned LEB128 varints (signed ones zig-zag) and
// strings as a varint length and the bytes, after a packing version byte.
class packer final {
 public:
  packer() { out_.push_back(packing_version); }
  packer& number(std::int64_t n) {
    auto z = (static_cast<std::uint64_t>(n) << 1) ^ static_cast<std::uint64_t>(n >> 63);
    while (z >= 0x80) {
      out_.push_back(static_cast<char>((z & 0x7f) | 0x80));
      z >>= 7;
    }
    out_.push_back(static_cast<char>(z));
    return *this;
  }
  packer& text(std::string_view s) {
    number(static_cast<std::int64_t>(s.size()));
    out_.append(s);
    return *this;
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what packer wrote; ok() turns false at the first thing that does not fit.
class unpacker final {
 public:
  explicit unpacker(std::string_view in) : in_(in) {
    if (in_.empty() || in_.front() != packing_version) {
      ok_ = false;
    } else {
      in_.remove_prefix(1);
    }
  }
  std::int64_t number() {
    std::uint64_t z = 0;
    for (int shift = 0; ok_; shift += 7) {
      if (in_.empty() || shift > 63) {
        ok_ = false;
        break;
      }
      const auto byte = static_cast<unsigned char>(in_.front());
      in_.remove_prefix(1);
      z |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    if (!ok_) return 0;
    return static_cast<std::int64_t>(z >> 1) ^ -static_cast<std::int64_t>(z & 1);
  }
  std::string text() {
    const std::int64_t size = number();
    if (!ok_ || size < 0 || static_cast<std::uint64_t>(size) > in_.size()) {
      ok_ = false;
      return {};
    }
    std::string s(in_.substr(0, static_cast<std::size_t>(size)));
    in_.remove_prefix(static_cast<std::size_t>(size));
    return s;
  }
  // Everything read and nothing left over.
  bool done() const { return ok_ && in_.empty(); }

 private:
  std::string_view in_;
  bool ok_ = true;
};

std::string pack_audit(const audit_entry& e) {
  // The user is the list's: not repeated in every line.
  return packer()
      .number(e.at_ms)
      .text(e.type)
      .text(e.stream_id)
      .text(e.request_id)
      .text(e.video_id)
      .text(e.reason)
      .take();
}

audit_entry unpack_audit(std::string_view bytes, const std::string& user_id) {
  unpacker in(bytes);
  audit_entry e;
  e.user_id = user_id;
  e.at_ms = in.number();
  e.type = in.text();
  e.stream_id = in.text();
  e.request_id = in.text();
  e.video_id = in.text();
  e.reason = in.text();
  if (!in.done()) unexpected("an audit line of user '" + user_id + "' is not one of ours");
  return e;
}

std::string pack_video(const video& v) {
  return packer().text(v.title).number(v.duration_seconds).take();
}

video unpack_video(std::string id, std::string_view bytes) {
  unpacker in(bytes);
  video v;
  v.id = std::move(id);
  v.title = in.text();
  v.duration_seconds = static_cast<int>(in.number());
  if (!in.done()) unexpected("video '" + v.id + "' in " + std::string(videos_key) + " is not ours");
  return v;
}

std::string pack_plan(const plan& p) {
  return packer().number(p.max_streams).text(to_string(p.limit_policy)).take();
}

plan unpack_plan(std::string id, std::string_view bytes) {
  unpacker in(bytes);
  plan p;
  p.id = std::move(id);
  p.max_streams = static_cast<int>(in.number());
  const std::optional<policy> limit_policy = parse_policy(in.text());
  if (!in.done() || !limit_policy)
    unexpected("plan '" + p.id + "' in " + std::string(plans_key) + " is not ours");
  p.limit_policy = *limit_policy;
  return p;
}

// HGETALL's flat {field, value, ...} as pairs.
template <class Unpack>
auto unpack_hash(const redisReply& all, std::string_view what, Unpack unpack_one) {
  require_no_error(all, what);
  std::vector<decltype(unpack_one(std::string(), std::string_view()))> out;
  for (std::size_t i = 0; i + 1 < reply_size(all); i += 2)
    out.push_back(unpack_one(std::string(reply_string(reply_at(all, i))),
                             reply_string(reply_at(all, i + 1))));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

std::optional<std::int64_t> earliest_expiry(const core::user_state& state) {
  std::optional<std::int64_t> earliest;
  for (const stream& s : state.streams)
    if (!earliest || s.expires_at_ms < *earliest) earliest = s.expires_at_ms;
  return earliest;
}

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
  const std::string key(dataset_key);
  const auto replies = opened->run({{key, {"SET", key, new_id("d_"), "NX"}}, {key, {"GET", key}}});
  require_no_error(*replies[0], "SET " + key);
  if (reply_is_nil(*replies[1])) unexpected(key + " vanished right after it was set");
  opened->dataset_id_ = std::string(reply_string(*replies[1]));
  return opened;
}

void redis_store::load_script() {
  const auto replies = router_.run_on_every_node({"SCRIPT", "LOAD", std::string(redis_commit_lua)});
  std::string sha;
  for (const auto& r : replies) {
    require_no_error(*r, "SCRIPT LOAD of commit.lua");
    const std::string_view node_sha = reply_string(*r);
    if (!sha.empty() && node_sha != sha) unexpected("nodes disagree on the SHA1 of commit.lua");
    sha = node_sha;
  }
  if (sha.empty()) unexpected("no node loaded commit.lua");
  script_sha_ = std::move(sha);
}

std::vector<redis_reply_ptr> redis_store::run(const std::vector<redis_command>& commands) {
  std::vector<redis_reply_ptr> replies = router_.run(commands);
  // A NOSCRIPT call ran nothing, so sending it again is safe. Twice at most: a node that still
  // lacks the script after a load on every master is not one the slot map knew; the caller then
  // sees an unexpected reply.
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<std::size_t> lost;
    for (std::size_t i = 0; i < replies.size(); ++i)
      if (is_noscript(*replies[i])) lost.push_back(i);
    if (lost.empty()) break;
    load_script();
    std::vector<redis_command> again;
    for (const std::size_t i : lost) {
      again.push_back(commands[i]);
      again.back().args[1] = script_sha_;  // EVALSHA's SHA
    }
    std::vector<redis_reply_ptr> answers = router_.run(again);
    for (std::size_t k = 0; k < lost.size(); ++k) replies[lost[k]] = std::move(answers[k]);
  }
  return replies;
}

bool redis_store::seeded() {
  const std::string key(seeded_key);
  const auto replies = run({{key, {"GET", key}}});
  require_no_error(*replies[0], "GET " + key);
  return !reply_is_nil(*replies[0]) && reply_string(*replies[0]) == dataset_id_;
}

void redis_store::seed(const dataset_catalog& catalog, const std::vector<core::user_state>& users) {
  std::vector<redis_command> catalog_commands;
  if (!catalog.videos.empty()) {
    redis_command& c = catalog_commands.emplace_back();
    c.key = videos_key;
    c.args = {"HSET", std::string(videos_key)};
    for (const video& v : catalog.videos) {
      c.args.push_back(v.id);
      c.args.push_back(pack_video(v));
    }
  }
  if (!catalog.plans.empty()) {
    redis_command& c = catalog_commands.emplace_back();
    c.key = plans_key;
    c.args = {"HSET", std::string(plans_key)};
    for (const plan& p : catalog.plans) {
      c.args.push_back(p.id);
      c.args.push_back(pack_plan(p));
    }
  }
  for (const auto& r : run(catalog_commands)) require_no_error(*r, "writing the catalog");

  // Created only where absent (expected version 0): a user who exists, seeded by another worker
  // or changed since, is kept as it is.
  std::vector<user_commit> creates;
  creates.reserve(users.size());
  for (const core::user_state& u : users) {
    user_commit& c = creates.emplace_back();
    c.state = u;
    c.state.version = 0;
    c.next_expiry = earliest_expiry(u);
  }
  static_cast<void>(commit(creates));

  // Last, in a round trip of its own: only once everything above is acknowledged by every node
  // does the marker say the dataset is whole.
  const std::string key(seeded_key);
  const auto marked = run({{key, {"SET", key, dataset_id_}}});
  require_no_error(*marked[0], "SET " + key);
}

dataset_catalog redis_store::load_catalog() {
  const auto replies = run({{std::string(videos_key), {"HGETALL", std::string(videos_key)}},
                            {std::string(plans_key), {"HGETALL", std::string(plans_key)}}});
  dataset_catalog catalog;
  catalog.videos = unpack_hash(*replies[0], "HGETALL sg:videos", unpack_video);
  catalog.plans = unpack_hash(*replies[1], "HGETALL sg:plans", unpack_plan);
  return catalog;
}

loaded_users redis_store::load(const std::vector<std::string>& user_ids,
                               const std::vector<std::string>& request_ids) {
  std::vector<redis_command> commands;
  commands.reserve(2 * user_ids.size() + request_ids.size() + 1);
  // One node's clock for every worker (the one holding sg:dataset), so all agree on leases.
  commands.push_back({"sg:dataset", {"TIME"}});
  for (const std::string& id : user_ids) {
    std::string key = user_key(id);
    commands.push_back({key, {"HMGET", key, "v", "s"}});
    // Not atomic with the HMGET, and needs not be: a start is appended in the commit that
    // bumps the version, so starts newer than the state loaded come with a newer version, and
    // the commit of anything decided on this state is refused.
    key = starts_key(id);
    commands.push_back({key, {"LRANGE", key, "0", "-1"}});
  }
  for (const std::string& id : request_ids) {
    std::string key = request_key(id);
    commands.push_back({key, {"GET", key}});
  }
  const auto replies = run(commands);

  loaded_users out;
  const redisReply& time = *replies[0];
  require_no_error(time, "TIME");
  out.now_ms = reply_integer(reply_at(time, 0)) * 1000 + reply_integer(reply_at(time, 1)) / 1000;
  out.states.reserve(user_ids.size());
  for (std::size_t i = 0; i < user_ids.size(); ++i) {
    const redisReply& fields = *replies[1 + 2 * i];
    require_no_error(fields, "HMGET of user '" + user_ids[i] + "'");
    const redisReply& version = reply_at(fields, 0);
    const redisReply& bytes = reply_at(fields, 1);
    if (reply_is_nil(version)) {
      out.states.emplace_back();
      continue;
    }
    if (reply_is_nil(bytes)) unexpected("user '" + user_ids[i] + "' has a version but no state");
    const long long v = reply_integer(version);
    if (v < 1) unexpected("user '" + user_ids[i] + "' has version " + std::to_string(v));
    auto state = decode_state(reply_string(bytes), static_cast<std::uint64_t>(v));
    if (!state)
      unexpected("the state of user '" + user_ids[i] +
                 "' is not one of ours: " + state.error().message);
    const redisReply& starts = *replies[2 + 2 * i];
    require_no_error(starts, "LRANGE of the starts of user '" + user_ids[i] + "'");
    for (std::size_t k = 0; k < reply_size(starts); ++k) {
      auto start = decode_start(reply_string(reply_at(starts, k)));
      if (!start)
        unexpected("a start of user '" + user_ids[i] +
                   "' is not one of ours: " + start.error().message);
      state->starts.push_back(std::move(*start));
    }
    out.states.emplace_back(std::move(*state));
  }
  for (std::size_t i = 0; i < request_ids.size(); ++i) {
    const redisReply& owner = *replies[1 + 2 * user_ids.size() + i];
    require_no_error(owner, "GET of request '" + request_ids[i] + "'");
    out.owners.push_back(reply_is_nil(owner) ? std::nullopt
                                             : std::optional<std::string>(reply_string(owner)));
  }
  return out;
}

std::vector<commit_status> redis_store::commit(const std::vector<user_commit>& commits) {
  if (commits.empty()) return {};
  // The lookup indexes are written before the commits, so they name a superset of what was
  // committed: request_owner() finds the user of every committed request (the user's state then
  // says what was decided) and user_ids() misses no user. One pipeline keeps that order on one
  // server; a cluster's nodes run their pipelines independently, so there the indexes take a
  // round trip of their own first.
  std::vector<redis_command> indexes;
  const std::string memory = std::to_string(options_.request_memory_ms);
  const std::string cap = std::to_string(options_.audit_cap);
  // One script call per group: every user on one server, each slot's users on a Cluster.
  struct script_group {
    std::vector<std::string> keys;
    std::vector<std::string> args;
    std::vector<std::size_t> commits;  // indexes in `commits`, in the keys' order
  };
  std::vector<script_group> groups;
  std::unordered_map<std::size_t, std::size_t> group_of_slot;
  for (std::size_t k = 0; k < commits.size(); ++k) {
    const user_commit& c = commits[k];
    const std::string& id = c.state.u.id;
    for (const core::remembered_start& start : c.new_starts) {
      std::string key = request_key(start.request_id);
      indexes.push_back({key, {"SET", key, id, "PX", memory}});
    }
    if (c.state.version == 0)
      indexes.push_back({std::string(users_key), {"SADD", std::string(users_key), id}});

    std::string key = user_key(id);
    const std::size_t slot = router_.cluster() ? redis_slot_of(key) : 0;
    const auto [found, added] = group_of_slot.try_emplace(slot, groups.size());
    if (added) groups.emplace_back();
    script_group& g = groups[found->second];
    g.commits.push_back(k);
    g.keys.push_back(std::move(key));
    g.keys.push_back(audit_key(id));
    g.keys.push_back(lease_index_of(id));
    g.keys.push_back(active_of(id));
    g.keys.push_back(starts_key(id));
    // The list keeps the newest `cap` lines anyway: older ones of this commit are not sent.
    const std::size_t skip =
        c.audit.size() > options_.audit_cap ? c.audit.size() - options_.audit_cap : 0;
    g.args.push_back(std::to_string(c.state.version));
    g.args.push_back(std::to_string(c.state.version + 1));
    g.args.push_back(c.remove ? std::string() : encode_state(c.state));
    g.args.push_back(c.same_expiry_as_loaded ? std::string("=")
                     : c.next_expiry         ? std::to_string(*c.next_expiry)
                                             : std::string());
    g.args.push_back(id);
    g.args.push_back(std::to_string(c.streams_delta));
    g.args.push_back(std::to_string(c.new_starts.size()));
    g.args.push_back(std::to_string(c.audit.size() - skip));
    for (const core::remembered_start& start : c.new_starts) g.args.push_back(encode_start(start));
    for (std::size_t i = skip; i < c.audit.size(); ++i) g.args.push_back(pack_audit(c.audit[i]));
  }
  std::vector<redis_command> scripts;
  scripts.reserve(groups.size());
  const std::string starts_cap = std::to_string(core::remembered_starts_per_user);
  for (script_group& g : groups) {
    redis_command& script = scripts.emplace_back();
    script.key = g.keys.front();
    script.args.reserve(6 + g.keys.size() + g.args.size());
    script.args = {"EVALSHA", script_sha_, std::to_string(g.keys.size())};
    std::move(g.keys.begin(), g.keys.end(), std::back_inserter(script.args));
    script.args.push_back(cap);
    script.args.push_back(starts_cap);
    script.args.push_back(memory);
    std::move(g.args.begin(), g.args.end(), std::back_inserter(script.args));
  }

  std::vector<redis_reply_ptr> replies;
  if (router_.cluster() && !indexes.empty()) {
    for (const auto& r : run(indexes)) require_no_error(*r, "writing the request and user indexes");
    replies = run(scripts);
  } else {
    const std::size_t index_count = indexes.size();
    indexes.insert(indexes.end(), std::make_move_iterator(scripts.begin()),
                   std::make_move_iterator(scripts.end()));
    replies = run(indexes);
    for (std::size_t i = 0; i < index_count; ++i)
      require_no_error(*replies[i], "writing the request and user indexes");
    replies.erase(replies.begin(), replies.begin() + static_cast<std::ptrdiff_t>(index_count));
  }

  std::vector<commit_status> out(commits.size(), commit_status::conflict);
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const redisReply& answers = *replies[g];
    require_no_error(answers, "commit.lua");
    if (reply_size(answers) != groups[g].commits.size())
      unexpected("commit.lua answered " + std::to_string(reply_size(answers)) + " of " +
                 std::to_string(groups[g].commits.size()) + " users");
    for (std::size_t i = 0; i < groups[g].commits.size(); ++i) {
      const std::size_t k = groups[g].commits[i];
      const long long answer = reply_integer(reply_at(answers, i));
      if (answer != 0 && answer != 1)
        unexpected("commit.lua answered " + std::to_string(answer) + " for user '" +
                   commits[k].state.u.id + "'");
      out[k] = answer == 1 ? commit_status::committed : commit_status::conflict;
    }
  }
  // A removed user leaves the user set only once removed, so user_ids() never misses a user
  // (it may name one just removed: a load then finds none).
  std::vector<redis_command> removed;
  for (std::size_t k = 0; k < commits.size(); ++k)
    if (commits[k].remove && out[k] == commit_status::committed)
      removed.push_back(
          {std::string(users_key), {"SREM", std::string(users_key), commits[k].state.u.id}});
  if (!removed.empty())
    for (const auto& r : run(removed)) require_no_error(*r, "removing users from the user set");
  return out;
}

std::optional<std::uint64_t> redis_store::active_streams() {
  std::vector<redis_command> commands;
  commands.reserve(redis_slot_count);
  for (std::size_t slot = 0; slot < redis_slot_count; ++slot) {
    std::string key = active_key(slot);
    commands.push_back({key, {"GET", key}});
  }
  long long total = 0;
  for (const auto& r : run(commands)) {
    require_no_error(*r, "GET of a live-stream counter");
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
    std::string key = lease_index_key((first + k) % redis_slot_count);
    commands.push_back({key, {"ZRANGEBYSCORE", key, "-inf", now, "LIMIT", "0", limit}});
  }
  const auto replies = run(commands);
  next_slot_ = (first + options_.slots_per_scan) % redis_slot_count;
  for (std::size_t k = 0; k < replies.size(); ++k) {
    const redisReply& users = *replies[k];
    require_no_error(users, "ZRANGEBYSCORE of a lease index");
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

std::optional<std::string> redis_store::request_owner(const std::string& request_id) {
  const std::string key = request_key(request_id);
  const auto replies = run({{key, {"GET", key}}});
  require_no_error(*replies[0], "GET " + key);
  if (reply_is_nil(*replies[0])) return std::nullopt;
  return std::string(reply_string(*replies[0]));
}

std::vector<std::string> redis_store::user_ids() {
  const auto replies = run({{std::string(users_key), {"SMEMBERS", std::string(users_key)}}});
  const redisReply& members = *replies[0];
  require_no_error(members, "SMEMBERS sg:users");
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
  const std::string key = audit_key(user_id);
  const auto replies = run({{key, {"LRANGE", key, std::to_string(-limit), "-1"}}});
  const redisReply& lines = *replies[0];
  require_no_error(lines, "LRANGE " + key);
  entries.reserve(reply_size(lines));
  for (std::size_t i = reply_size(lines); i-- > 0;)
    entries.push_back(unpack_audit(reply_string(reply_at(lines, i)), user_id));
  return entries;
}

}  // namespace streamgate
