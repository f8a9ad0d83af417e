#pragma once

// Paging of GET /api/v1/users (docs/design.md §3): the api asks the worker for one user more
// than the client's page; whether that one came tells whether a next page exists, and the page
// is cut from the worker's bytes, so what the client gets is still rendered once, by the worker.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace streamgate {

struct user_page {
  std::string body;  // a JSON array of at most `limit` users
  // The id of the page's last user when more follow: the cursor of the next page.
  std::optional<std::string> next_cursor;
};

// `users` is encode_users' array (common/codec.hpp) of up to limit + 1 users. Nullopt when it
// is not such an array.
std::optional<user_page> cut_user_page(std::string_view users, std::size_t limit);

// The target of the next page, for a Link header (RFC 8288): "/api/v1/users?...".
std::string next_page_target(std::string_view name, int limit, std::string_view cursor);

}  // namespace streamgate
