// GET /api/v1/users in pages (docs/design.md §3): ?limit= and ?cursor=, the next page in a Link
// header, the body still the array of users.

#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "stack.hpp"

using namespace streamgate::it;

namespace {

// The target of Link: <target>; rel="next", or nullopt when the answer has none.
std::optional<std::string> users_next_link(const http_response& r) {
  const std::string link = r.header("Link");
  if (link.empty()) return std::nullopt;
  std::smatch m;
  REQUIRE(std::regex_match(link, m, std::regex(R"(<(/api/v1/users\?[^>]+)>; rel="next")")));
  return m[1].str();
}

struct user_page_walk {
  std::vector<std::string> ids;  // every page's ids, in the order received
  std::vector<std::size_t> page_sizes;
};

// Follows the next links from `first` to the page that has none.
user_page_walk follow_user_pages(http_client& http, const std::string& first) {
  user_page_walk w;
  std::optional<std::string> target = first;
  while (target) {
    REQUIRE(w.page_sizes.size() < 100);  // a link that leads back would loop for ever
    const auto r = http.get(*target);
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.has_json_content_type());
    const auto page = r.json();
    REQUIRE(page.IsArray());
    for (const auto& u : page.GetArray()) check_user_shape(u);
    const auto ids = json::strings_of(page, "id");
    w.ids.insert(w.ids.end(), ids.begin(), ids.end());
    w.page_sizes.push_back(ids.size());
    target = users_next_link(r);
  }
  return w;
}

}  // namespace

TEST_CASE("GET /api/v1/users pages through every user once, in id order",
          "[integration][rest][paging]") {
  stack s;
  http_client http(s.http_port());
  const std::string token = "pg" + std::to_string(::getpid());
  std::vector<std::string> created;
  for (int i = 0; i < 7; ++i) {
    created.push_back(unique_id("page"));
    REQUIRE(http.post("/api/v1/users",
                      json::object({{"id", created.back()}, {"name", "Pager " + token}}))
                .status == 201);
  }
  std::sort(created.begin(), created.end());

  SECTION("with a name filter, pages of 3 hold 3, 3 and 1 of the matching users") {
    const user_page_walk w = follow_user_pages(http, "/api/v1/users?name=" + token + "&limit=3");
    CHECK(w.ids == created);
    CHECK(w.page_sizes == std::vector<std::size_t>{3, 3, 1});
  }
  SECTION("without a filter, the pages of 3 together are the one list of everyone") {
    const auto all = http.get("/api/v1/users");
    INFO(all.describe());
    REQUIRE(all.status == 200);
    CHECK_FALSE(users_next_link(all).has_value());
    const auto everyone = json::strings_of(all.json(), "id");
    REQUIRE(everyone.size() > 7);
    CHECK(std::is_sorted(everyone.begin(), everyone.end()));
    const user_page_walk w = follow_user_pages(http, "/api/v1/users?limit=3");
    CHECK(w.ids == everyone);
    for (std::size_t i = 0; i + 1 < w.page_sizes.size(); ++i) CHECK(w.page_sizes[i] == 3);
  }
  SECTION("a page that ends exactly at the last user has no next link") {
    const user_page_walk w = follow_user_pages(http, "/api/v1/users?name=" + token + "&limit=7");
    CHECK(w.ids == created);
    CHECK(w.page_sizes == std::vector<std::size_t>{7});
  }
  SECTION("a filter as long as a name may be (200 bytes) finds the user of that name") {
    const std::string name = token + std::string(200 - token.size(), 'n');
    const std::string id = unique_id("page");
    REQUIRE(http.post("/api/v1/users", json::object({{"id", id}, {"name", name}})).status == 201);
    const auto r = http.get("/api/v1/users?name=" + name);
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(json::strings_of(r.json(), "id") == std::vector<std::string>{id});
  }
  SECTION("a cursor past every user gives an empty page") {
    const auto r = http.get("/api/v1/users?name=" + token + "&cursor=zzzz");
    INFO(r.describe());
    REQUIRE(r.status == 200);
    CHECK(r.json().Empty());
    CHECK_FALSE(users_next_link(r).has_value());
  }
}

TEST_CASE("GET /api/v1/users refuses a bad limit, cursor or name with 400 naming it",
          "[integration][rest][paging]") {
  stack s;
  http_client http(s.http_port());
  using row = std::tuple<std::string, std::string>;
  const auto [query, parameter] = GENERATE(table<std::string, std::string>({
      row{"limit=0", "'limit'"},
      row{"limit=1001", "'limit'"},
      row{"limit=-3", "'limit'"},
      row{"limit=3x", "'limit'"},
      row{"limit=", "'limit'"},
      row{"limit=99999999999999999999", "'limit'"},
      row{"cursor=", "'cursor'"},
      row{"cursor=a%20b", "'cursor'"},
      row{"cursor=" + std::string(65, 'a'), "'cursor'"},
      row{"name=" + std::string(201, 'a'), "'name'"},
      // Not UTF-8: the worker would drop the call, and the client would wait for a 503.
      row{"name=%FF", "'name'"},
      row{"name=%C0%80", "'name'"},
      row{"name=a%ED%A0%80", "'name'"},
      row{"name=a&limit=2&cursor=%2F", "'cursor'"},
  }));
  CAPTURE(query);
  const auto r = http.get("/api/v1/users?" + query);
  INFO(r.describe());
  check_error(r, 400, "bad_request");
  CHECK(json::str(r.json()["error"], "message").find(parameter) != std::string::npos);
}
