// Which worker a request goes to (api/worker_link/route_key.hpp): every request about a user,
// its creation included, names the user's worker; requests about no user spread.

#include "api/worker_link/route_key.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <set>

using namespace streamgate;

TEST_CASE("a user's creation goes to the worker of the user's other requests",
          "[unit][worker_link]") {
  const std::size_t of_start = route_key_of(start_request{"r_1", "ann", "v01", ""}, 1);
  CHECK(route_key_of(get_user_request{"ann"}, 2) == of_start);
  CHECK(route_key_of(delete_user_request{"ann"}, 3) == of_start);
  create_user_request create{"ann", "Ann", std::nullopt, std::nullopt, std::nullopt, std::nullopt};
  CHECK(route_key_of(create, 4) == of_start);
  CHECK(route_key_of(get_user_request{"bob"}, 1) != of_start);

  // A create that names no id, like a request about no user, spreads by its corr.
  create.id.reset();
  std::set<std::size_t> keys;
  for (std::uint64_t corr = 0; corr < 8; ++corr) {
    keys.insert(route_key_of(create, corr));
    keys.insert(route_key_of(list_videos_request{}, corr));
  }
  CHECK(keys.size() == 8);
}
