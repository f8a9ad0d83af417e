#pragma once

// What the Redis store's tests (tests/store/redis_store_*_test.cpp) share: a real redis-server or
// 3-master Redis Cluster for the test case (their data in its temp dir), the store opened on it,
// and users, streams, commits and audit lines to give it.

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "redis_cluster.hpp"
#include "redis_server.hpp"
#include "test_store.hpp"
#include "tests/unit/starts_named.hpp"
#include "tests/unit/temp_dir.hpp"
#include "worker/store/redis/connection.hpp"
#include "worker/store/redis/redis_keys.hpp"
#include "worker/store/redis/redis_store.hpp"

namespace streamgate::redis_test {

// One redis-server for the test case.
class single_redis {
 public:
  single_redis() : server_(dir_.path() / "redis") {}

  std::vector<redis_address> seeds() const { return {{"127.0.0.1", server_.port()}}; }
  it::redis_server& server() { return server_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  // A plain connection of the test's, to look at or break what the store wrote.
  std::unique_ptr<redis_client> client() const {
    return std::make_unique<redis_client>(seeds()[0], std::chrono::seconds{2});
  }

 private:
  test::temp_dir dir_;
  it::redis_server server_;
};

// A three-master cluster for the test case; the store is given only its first node.
class cluster_redis {
 public:
  cluster_redis() : cluster_(dir_.path() / "cluster") {}

  std::vector<redis_address> seeds() const { return {{"127.0.0.1", cluster_.port(0)}}; }
  it::redis_cluster& cluster() { return cluster_; }
  std::unique_ptr<redis_client> client(std::size_t node) const {
    return std::make_unique<redis_client>(redis_address{"127.0.0.1", cluster_.port(node)},
                                          std::chrono::seconds{2});
  }

 private:
  test::temp_dir dir_;
  it::redis_cluster cluster_;
};

inline std::unique_ptr<redis_store> open_store(const std::vector<redis_address>& seeds,
                                               redis_store_options options = {}) {
  return redis_store::open(seeds, options);
}

inline stream stream_of(const std::string& user_id, const std::string& stream_id,
                        std::int64_t expires_at_ms) {
  return {stream_id, user_id, "v1", "device-1", expires_at_ms - 90'000, expires_at_ms};
}

// A commit of `state` as loaded (state.version is the version it was loaded at).
inline user_commit commit_of(core::user_state state, std::optional<std::int64_t> next_expiry = {},
                             std::vector<audit_entry> audit = {},
                             std::vector<std::string> request_ids = {}) {
  user_commit c;
  // The state's own start of each id, or a bare one when the test keeps none in the state.
  c.new_starts = test::starts_named(state, request_ids);
  for (const std::string& id : request_ids)
    if (std::none_of(c.new_starts.begin(), c.new_starts.end(),
                     [&](const core::remembered_start& r) { return r.request_id == id; }))
      c.new_starts.emplace_back().request_id = id;
  c.state = std::move(state);
  c.next_expiry = next_expiry;
  c.audit = std::move(audit);
  return c;
}

inline std::int64_t store_now(store& s) { return s.load({}).now_ms; }

inline audit_entry audit_line(const std::string& user_id, std::int64_t at_ms, std::string type,
                              std::string request_id = "") {
  audit_entry e;
  e.user_id = user_id;
  e.at_ms = at_ms;
  e.type = std::move(type);
  e.request_id = std::move(request_id);
  return e;
}

// Every due user one full pass over the 16384 per-slot lease indexes finds.
inline std::set<std::string> due_in_full_pass(
    store& s, std::int64_t now_ms, std::size_t max = 1000,
    std::size_t slots_per_scan = redis_store_options{}.slots_per_scan) {
  std::set<std::string> due;
  for (std::size_t k = 0; k < redis_slot_count / slots_per_scan; ++k)
    for (std::string& u : s.due_users(now_ms, max)) due.insert(std::move(u));
  return due;
}

// The first of `prefix`0, `prefix`1, ... whose key (as `key_of` names it) lives on `node`.
template <class KeyOf>
std::string id_on(it::redis_cluster& cluster, std::size_t node, const std::string& prefix,
                  KeyOf key_of) {
  for (int i = 0; i < 1000; ++i) {
    std::string id = prefix + std::to_string(i);
    if (cluster.owner_of(redis_slot_of(key_of(id))) == node) return id;
  }
  throw std::runtime_error("no id among 1000 lives on node " + std::to_string(node));
}

// A user whose keys live on `node`.
inline std::string user_on(it::redis_cluster& cluster, std::size_t node) {
  return id_on(cluster, node, "user", redis_detail::user_key);
}

// A request id whose owner index lives on `node`.
inline std::string request_on(it::redis_cluster& cluster, std::size_t node) {
  return id_on(cluster, node, "r_", [](const std::string& id) {
    return redis_detail::request_index_key(redis_detail::request_shard_of(id), 0);
  });
}

inline dataset_catalog demo_catalog() {
  dataset_catalog c;
  c.videos = {{"v1", "One", 60}, {"v2", "Two \x1f with odd bytes", 3600}};
  c.plans = {{"basic", 1, policy::deny}, {"premium", 4, policy::evict_oldest}};
  return c;
}

}  // namespace streamgate::redis_test
