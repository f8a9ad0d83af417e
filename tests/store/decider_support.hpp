#pragma once

// What the decider's store tests share (decider_test.cpp, decider_conflict_test.cpp): the rules,
// a seeded store, one worker or two on one store, and a batch decided at once.

#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "common/worker_replies.hpp"
#include "test_store.hpp"
#include "worker/seed.hpp"
#include "worker/server/decider.hpp"

namespace streamgate {

inline core::rules test_rules(int lease_seconds = worker_config{}.lease_seconds) {
  worker_config config;
  config.lease_seconds = lease_seconds;
  return rules_from(config);
}

inline void seed(store& s) {
  REQUIRE(seed_catalog(s, STREAMGATE_CATALOG, test_rules()).has_value());
}

struct batch_result {
  std::vector<reply> replies;
  std::vector<published_event> events;
};

inline store& seeded(store& s) {
  seed(s);
  return s;
}

// One worker on a seeded store of `kind`: the store as that worker opened it, and its decider.
struct seeded_worker {
  seeded_worker(const std::string& kind, const core::rules& rules, cache_bounds bounds = {},
                wall_clock wall = nullptr)
      : ts(kind), s(ts.open()), d(seeded(*s), rules, bounds, std::move(wall)) {}

  test_store ts;
  std::unique_ptr<store> s;
  decider d;
};

// Two workers on one seeded shared store of `kind`, each with its own connection and decider;
// B's wall clock may be injected.
struct two_workers {
  explicit two_workers(const std::string& kind, wall_clock b_wall = nullptr)
      : ts(kind),
        store_a(ts.open()),
        a(seeded(*store_a), test_rules()),
        store_b(ts.open()),
        b(*store_b, test_rules(), {}, std::move(b_wall)) {}

  test_store ts;
  std::unique_ptr<store> store_a;
  decider a;
  std::unique_ptr<store> store_b;
  decider b;
};

inline batch_result decide(decider& d, std::vector<request_body> requests,
                           std::vector<std::string> due = {},
                           std::vector<std::int64_t> deadlines = {}) {
  batch_result r;
  d.decide(requests, deadlines, due, r.replies, r.events);
  return r;
}

inline start_request start_of(const std::string& user, const std::string& request_id,
                              const std::string& session = "") {
  return start_request{request_id, user, "v01", session};
}

// The user's live streams, as GET /api/v1/users/{id}/streams lists them.
inline std::vector<stream> live_streams(decider& d, const std::string& user) {
  const batch_result listed = decide(d, {list_streams_request{user}});
  const auto* streams = std::get_if<std::vector<stream>>(&listed.replies[0].body);
  REQUIRE(streams);
  return *streams;
}

}  // namespace streamgate
