#include "api/worker_link/route_key.hpp"

#include <functional>
#include <string_view>
#include <type_traits>
#include <variant>

namespace streamgate {

std::size_t route_key_of(const request_body& body, std::uint64_t corr) {
  const auto user_key = [](std::string_view user_id) {
    return std::hash<std::string_view>{}(user_id);
  };
  return std::visit(
      [&](const auto& r) -> std::size_t {
        using T = std::decay_t<decltype(r)>;
        if constexpr (requires { r.user_id; })
          return user_key(r.user_id);
        else if constexpr (std::is_same_v<T, create_user_request>)
          return r.id ? user_key(*r.id) : static_cast<std::size_t>(corr);
        else
          return static_cast<std::size_t>(corr);
      },
      body);
}

}  // namespace streamgate
