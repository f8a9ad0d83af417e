#include "api/routes/user_page.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/codec.hpp"
#include "common/domain.hpp"

using namespace streamgate;

namespace {

// The worker's rendering of users with these ids, names with what JSON must escape included.
std::string users_json(const std::vector<std::string>& ids) {
  std::vector<user> users;
  users.reserve(ids.size());
  for (const std::string& id : ids)
    users.push_back({id, "N\"a}m]e, {" + id + "}\\", 2, policy::deny, "basic"});
  std::vector<user_row> rows;
  for (const user& u : users) rows.push_back({&u, 2, policy::deny, 1});
  return encode_users(rows);
}

}  // namespace

TEST_CASE("a users array one longer than the page is cut to the page, its last id the cursor",
          "[paging]") {
  const auto page = cut_user_page(users_json({"a", "b_1", "c-2", "d"}), 3);
  REQUIRE(page.has_value());
  CHECK(page->body == users_json({"a", "b_1", "c-2"}));
  CHECK(page->next_cursor == std::optional<std::string>("c-2"));
}

TEST_CASE("a users array no longer than the page is the whole page, with no next cursor",
          "[paging]") {
  const std::vector<std::string> ids = GENERATE(std::vector<std::string>{},
                                                std::vector<std::string>{"a"},
                                                std::vector<std::string>{"a", "b", "c"});
  CAPTURE(ids);
  const std::string json = users_json(ids);
  const auto page = cut_user_page(json, 3);
  REQUIRE(page.has_value());
  CHECK(page->body == json);
  CHECK_FALSE(page->next_cursor.has_value());
}

TEST_CASE("a reply that is not an array of users is refused, not cut", "[paging]") {
  const std::string input = GENERATE(std::string(), std::string("{}"), std::string("[1,2]"),
                                     std::string(R"(["a","b"])"), std::string("[{}"),
                                     std::string(R"({"id":"a"})"), std::string(R"([{},{}])"));
  CAPTURE(input);
  // [{},{}] parses, but past a page of one its first user has no id to be the cursor.
  CHECK_FALSE(cut_user_page(input, 1).has_value());
}

TEST_CASE("the next page's target keeps the name filter and the page size, encoded",
          "[paging]") {
  CHECK(next_page_target("", 3, "bob") == "/api/v1/users?limit=3&cursor=bob");
  CHECK(next_page_target("Zoë & co", 50, "u_1") ==
        "/api/v1/users?name=Zo%C3%AB%20%26%20co&limit=50&cursor=u_1");
}
