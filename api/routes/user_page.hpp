#pragma once

// Paging of GET /api/v1/users (docs/design.md §3): the api asks the worker for one user more
// than the client's page; whether that one came tells whether a next page exists.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/worker_replies.hpp"

namespace streamgate {

// The cursor of the next page, the id of the page's last user, when the worker found more than
// `limit` users; nullopt when this page is the last.
std::optional<std::string> next_cursor(const std::vector<user_view>& users, std::size_t limit);

// The target of the next page, for a Link header (RFC 8288): "/api/v1/users?...".
std::string next_page_target(std::string_view name, int limit, std::string_view cursor);

}  // namespace streamgate
