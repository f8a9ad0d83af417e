#include "api/worker_link/route_key.hpp"

#include <functional>
#include <string_view>

namespace streamgate {

std::size_t route_key_of(const request_body& body, std::uint64_t corr) {
  const std::optional<std::string_view> user = user_named_by(body);
  return user ? std::hash<std::string_view>{}(*user) : static_cast<std::size_t>(corr);
}

}  // namespace streamgate
