#pragma once

// The starts of `state` with these request ids, in the state's order: what a user_commit's
// new_starts holds when the decision core remembered them in this commit (store tests build
// states as the core leaves them, every start in state.starts).

#include <algorithm>
#include <string>
#include <vector>

#include "worker/core/user_state.hpp"

namespace streamgate::test {

inline std::vector<core::remembered_start> starts_named(const core::user_state& state,
                                                        const std::vector<std::string>& ids) {
  std::vector<core::remembered_start> named;
  for (const core::remembered_start& s : state.starts)
    if (std::find(ids.begin(), ids.end(), s.request_id) != ids.end()) named.push_back(s);
  return named;
}

}  // namespace streamgate::test
