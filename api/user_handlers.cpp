#include <string>
#include <utility>

#include "api/handlers.hpp"
#include "api/json_splice.hpp"
#include "api/responses.hpp"
#include "api/services.hpp"
#include "api/tokens.hpp"
#include "api/worker_client.hpp"
#include "common/codec.hpp"
#include "common/ids.hpp"

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

// The user's token is made here and shown once, in the 201, also with --auth none (so a store can
// later be served with --auth token); the worker stores only its SHA-256. The api picks the id
// when the client did not, because the token names its user.
asio::awaitable<http_response> create_user(const request_context& ctx) {
  auto decoded = decode_create_user_body(ctx.request.body());
  if (!decoded) co_return error_response(decoded.error());
  if (!decoded->id) decoded->id = new_id("u_");
  const std::string token = new_token(*decoded->id);
  decoded->token_hash = sha256_hex(token);
  request_body body = std::move(*decoded);
  auto reply = co_await ctx.services.worker.call(std::move(body), ctx.services.verdict_timeout);
  if (!reply) co_return unavailable_response("no worker answered in time; retry");
  if (reply->result == outcome::created)
    reply->body = prepend_fields(R"("token":")" + token + '"', reply->body);
  http_response res = reply_response(std::move(*reply));
  // The only answer that ever holds the token: no cache may keep it.
  res.set(http::field::cache_control, "no-store");
  co_return res;
}

asio::awaitable<http_response> patch_user(const request_context& ctx) {
  auto decoded = decode_patch_user_body(ctx.request.body(), std::string(ctx.param("id")));
  if (!decoded) co_return error_response(decoded.error());
  request_body body = std::move(*decoded);
  co_return co_await relay(ctx, std::move(body));
}

}  // namespace streamgate
