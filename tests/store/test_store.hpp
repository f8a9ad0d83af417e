#pragma once

// The store of one deployment for one test case of tests/store: SQLite, a redis-server or a
// 3-master Redis Cluster, in a fresh temp dir. Shared by the conformance suite and the decider's
// tests, so every store is started and opened the same way; and what the conformance suite and
// the Redis store's tests both give a store and ask of it.

#include <catch2/catch.hpp>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "redis_cluster.hpp"
#include "redis_server.hpp"
#include "tests/unit/temp_dir.hpp"
#include "worker/store/redis/redis_store.hpp"
#include "worker/store/sqlite/sqlite_store.hpp"
#include "worker/store/store.hpp"

namespace streamgate {

// The store of one deployment for one test case, in a fresh temp dir: nothing for SQLite (the
// file is made at open), a redis-server, or a 3-master Redis Cluster. The processes live as long
// as it does.
class test_store final {
 public:
  explicit test_store(std::string kind) : kind_(std::move(kind)) {
    if (kind_ == "redis") {
      server_ = std::make_unique<it::redis_server>(dir_.path() / "redis");
      url_ = server_->url();
    } else if (kind_ == "cluster") {
      cluster_ = std::make_unique<it::redis_cluster>(dir_.path() / "cluster");
      url_ = cluster_->url();
    } else if (kind_ != "sqlite") {
      throw std::invalid_argument("no store kind '" + kind_ + "'");
    }
  }

  bool sqlite() const { return kind_ == "sqlite"; }

  // A worker's view of the store: on Redis, each call is another worker's.
  std::unique_ptr<store> open() const {
    if (sqlite()) return sqlite_store::open(dir_.path() / "streamgate.db");
    const auto seeds = parse_redis_urls(url_);
    if (!seeds) throw std::logic_error("bad redis url '" + url_ + "'");
    return redis_store::open(*seeds, redis_store_options{});
  }

  // A crash and an operator's restart of the store's processes: kill -9 and start again on the
  // same data; a cluster's nodes one after the other. Nothing for SQLite: its store lives in the
  // worker, which the caller closes and reopens.
  void restart_servers() {
    if (server_) {
      server_->kill9();
      server_->start();
    }
    if (cluster_) {
      for (std::size_t node = 0; node < it::redis_cluster::node_count; ++node) {
        cluster_->kill9(node);
        cluster_->restart(node);
      }
    }
  }

 private:
  std::string kind_;
  // First, so it outlives the servers writing into it.
  test::temp_dir dir_;
  std::unique_ptr<it::redis_server> server_;
  std::unique_ptr<it::redis_cluster> cluster_;
  std::string url_;
};

// A plain user as a catalog seeds it.
inline core::user_state plain_user(const std::string& id) {
  core::user_state s;
  s.u.id = id;
  s.u.name = "User " + id;
  return s;
}

// Calls to a Redis store that may fail a few times (store_unavailable): right after its server
// restarted, the first finds the old connection broken and the store reconnects on the next; where
// a master has replicas, a busy machine may bring a replica's acknowledgement of a write after the
// store's short wait for it.
template <class Call>
auto after_reconnect(Call call) {
  for (int attempt = 1;; ++attempt) {
    try {
      return call();
    } catch (const store_unavailable&) {
      if (attempt == 5) throw;
    }
  }
}

// The message of the `Exception` that `call` throws; empty when it throws none.
template <class Exception, class Call>
std::string message_thrown(Call&& call) {
  try {
    call();
  } catch (const Exception& e) {
    return e.what();
  }
  return {};
}

// One commit, its answer.
inline commit_status commit_one(store& s, user_commit c) {
  const std::vector<commit_status> answers = s.commit({std::move(c)});
  REQUIRE(answers.size() == 1);
  return answers[0];
}

// A user the store holds (REQUIREd). One whose server could not be reached (a Cluster node that
// restarted, found so by this load) throws store_unavailable, as a whole store that cannot be
// reached does, for after_reconnect.
inline core::user_state load_one(store& s, const std::string& id) {
  const loaded_users loaded = s.load({id});
  if (!loaded.unreachable_users.empty())
    throw store_unavailable("the server of user '" + id + "' could not be reached");
  REQUIRE(loaded.states.size() == 1);
  REQUIRE(loaded.states[0].has_value());
  return *loaded.states[0];
}

}  // namespace streamgate
