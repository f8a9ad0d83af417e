#include <string>
#include <utility>

#include "api/handlers.hpp"
#include "api/responses.hpp"
#include "common/codec.hpp"

namespace streamgate {

asio::awaitable<http_response> list_users(const request_context& ctx) {
  std::string name = ctx.query("name").value_or("");
  if (name.size() > max_name_length)
    co_return error_response(bad_request("query parameter 'name' must be at most " +
                                         std::to_string(max_name_length) + " characters"));
  request_body body = list_users_request{std::move(name)};
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> get_user(const request_context& ctx) {
  request_body body = get_user_request{std::string(ctx.param("id"))};
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> create_user(const request_context& ctx) {
  auto decoded = decode_create_user_body(ctx.request.body());
  if (!decoded) co_return error_response(decoded.error());
  request_body body = std::move(*decoded);
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> patch_user(const request_context& ctx) {
  auto decoded = decode_patch_user_body(ctx.request.body(), std::string(ctx.param("id")));
  if (!decoded) co_return error_response(decoded.error());
  request_body body = std::move(*decoded);
  co_return co_await relay(ctx, std::move(body));
}

}  // namespace streamgate
