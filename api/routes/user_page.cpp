#include "api/routes/user_page.hpp"

#include <boost/url/url.hpp>

namespace streamgate {

std::optional<std::string> next_cursor(const std::vector<user_view>& users, std::size_t limit) {
  if (users.size() <= limit || limit == 0) return std::nullopt;
  return users[limit - 1].u.id;
}

std::string next_page_target(std::string_view name, int limit, std::string_view cursor) {
  boost::urls::url target("/api/v1/users");
  if (!name.empty()) target.params().append({"name", name});
  target.params().append({"limit", std::to_string(limit)});
  target.params().append({"cursor", cursor});
  return std::string(target.buffer());
}

}  // namespace streamgate
