#pragma once

// A batch as the decider works through it: its requests grouped by the user they act on, and one
// try at a group (what it decided, until the store answers its commit). Internal to the decider
// (decider*.cpp).

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "worker/server/decider.hpp"

namespace streamgate {

struct decider::user_group {
  std::string user_id;
  std::vector<std::size_t> requests;  // indexes in the batch, in order
  bool expire = false;                // named by the lease index
  bool fresh = false;                 // holds an op answered from the store's own state
};

// One try at a group: what it decided, kept until the store answers its commit.
struct decider::attempt {
  std::optional<core::user_state> state;
  std::optional<std::int64_t> next_expiry;  // of `state`: as cached, then as committed
  bool read_now = true;  // `state` (or its absence) was read from the store in this batch
  core::effects effects;
  std::vector<reply> replies;  // parallel to the group's requests
};

struct decider::batch {
  const std::vector<request_body>& requests;
  // One per user, in the order first named: by the requests, then by the due users.
  std::vector<user_group> groups;
  std::vector<std::size_t> globals;  // requests of no one user, answered after the commit
  // The ids made for creates that named none, by request index.
  std::vector<std::optional<std::string>> created_ids;
};

}  // namespace streamgate
