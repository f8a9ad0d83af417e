#include "api/routes/user_page.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/domain.hpp"
#include "common/worker_replies.hpp"

using namespace streamgate;

namespace {

// The worker's answer to list_users: users with these ids, in this order.
std::vector<user_view> users_with(const std::vector<std::string>& ids) {
  std::vector<user_view> users;
  users.reserve(ids.size());
  for (const std::string& id : ids)
    users.push_back({{id, "Name " + id, 2, policy::deny, "basic"}, 2, policy::deny, 1});
  return users;
}

}  // namespace

TEST_CASE("a page of users one longer than the limit has its last id as the next cursor",
          "[paging]") {
  CHECK(next_cursor(users_with({"a", "b_1", "c-2", "d"}), 3) == std::optional<std::string>("c-2"));
}

TEST_CASE("a page of users no longer than the limit is the last, with no next cursor", "[paging]") {
  const std::vector<std::string> ids =
      GENERATE(std::vector<std::string>{}, std::vector<std::string>{"a"},
               std::vector<std::string>{"a", "b", "c"});
  CAPTURE(ids);
  CHECK_FALSE(next_cursor(users_with(ids), 3).has_value());
}

TEST_CASE("a limit of zero names no cursor, whatever the worker found", "[paging]") {
  CHECK_FALSE(next_cursor(users_with({"a"}), 0).has_value());
  CHECK_FALSE(next_cursor(users_with({}), 0).has_value());
}

TEST_CASE("the next page's target keeps the name filter and the page size, encoded", "[paging]") {
  CHECK(next_page_target("", 3, "bob") == "/api/v1/users?limit=3&cursor=bob");
  CHECK(next_page_target("Zoë & co", 50, "u_1") ==
        "/api/v1/users?name=Zo%C3%AB%20%26%20co&limit=50&cursor=u_1");
}
