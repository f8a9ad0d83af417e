#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "api/auth/tokens.hpp"
#include "api/http/query_limit.hpp"
#include "api/http/responses.hpp"
#include "api/http/status_map.hpp"
#include "api/routes/handlers.hpp"
#include "api/routes/user_page.hpp"
#include "api/services.hpp"
#include "api/views/views.hpp"
#include "api/worker_link/worker_client.hpp"
#include "common/codec.hpp"
#include "common/codec/strict_json.hpp"
#include "common/ids.hpp"

namespace streamgate {

// A page of users and, when more follow, a Link to the next (docs/design.md §3): the body stays
// the array it always was, so clients that read one page of everything keep working.
asio::awaitable<http_response> list_users(const request_context& ctx) {
  std::string name = ctx.query("name").value_or("");
  if (name.size() > max_name_length)
    co_return error_response(bad_request("query parameter 'name' must be at most " +
                                         std::to_string(max_name_length) + " bytes"));
  // The worker takes only UTF-8 text (a user's name is JSON), and drops a request it cannot
  // read: caught here, it is the client's 400 instead of a 503 after the call's timeout.
  if (!codec_detail::is_valid_utf8(name))
    co_return error_response(bad_request("query parameter 'name' must be UTF-8 text"));
  const result<int> limit = query_limit(ctx, default_users_page, max_users_page);
  if (!limit) co_return error_response(limit.error());
  std::optional<std::string> cursor = ctx.query("cursor");
  if (cursor && !is_valid_id(*cursor))
    co_return error_response(bad_request(
        "query parameter 'cursor' must be the cursor of a next page's link, as given"));
  request_body body = list_users_request{name, std::move(cursor), *limit + 1};
  auto reply = co_await ctx.services.worker.call(std::move(body), ctx.services.verdict_timeout);
  if (!reply)
    co_return error_response(error_code::unavailable, "no worker answered in time; retry");
  const auto* users = std::get_if<std::vector<user_view>>(&reply->body);
  if (reply->result != outcome::ok || !users) co_return reply_response(*reply);
  const auto page = static_cast<std::size_t>(*limit);
  http_response res = json_response(http::status::ok, render_users(*users, page));
  if (const auto next = next_cursor(*users, page))
    res.set(http::field::link, "<" + next_page_target(name, *limit, *next) + R"(>; rel="next")");
  co_return res;
}

asio::awaitable<http_response> get_user(const request_context& ctx) {
  request_body body = get_user_request{std::string(ctx.param("id"))};
  co_return co_await relay(ctx, std::move(body));
}

namespace {

// Asks the worker to store `token`'s hash with `body`; the answer that means it did (`stored`)
// shows the token before the user's fields (render_user_with_token). The only answers that ever
// hold a token: no cache may keep them.
asio::awaitable<http_response> call_with_token(const request_context& ctx, request_body body,
                                               outcome stored, const std::string& token) {
  auto reply = co_await ctx.services.worker.call(std::move(body), ctx.services.verdict_timeout);
  if (!reply)
    co_return error_response(error_code::unavailable, "no worker answered in time; retry");
  const auto* shown = std::get_if<user_view>(&reply->body);
  http_response res = reply->result == stored && shown
                          ? json_response(status_of(stored), render_user_with_token(*shown, token))
                          : reply_response(*reply);
  res.set(http::field::cache_control, "no-store");
  co_return res;
}

bool blank(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

}  // namespace

// The user's token is made here and shown once, in the 201, also with --auth none (so a store can
// later be served with --auth token); the worker stores only its SHA-256. The api picks the id
// when the client did not, because the token names its user.
asio::awaitable<http_response> create_user(const request_context& ctx) {
  auto decoded = decode_create_user_body(ctx.request.body());
  if (!decoded) co_return error_response(decoded.error());
  if (!decoded->id) decoded->id = new_id("u_");
  const std::string token = new_token(*decoded->id);
  decoded->token_hash = sha256_hex(token);
  // A named body: GCC 12 destroys a temporary argument of a co_await twice.
  request_body body = std::move(*decoded);
  co_return co_await call_with_token(ctx, std::move(body), outcome::created, token);
}

// A new token, made and shown as create_user does. The old token is refused from the worker's
// commit on, by every api (docs/design.md §6, revocation).
asio::awaitable<http_response> rotate_user_token(const request_context& ctx) {
  std::string_view sent = ctx.request.body();
  while (!sent.empty() && blank(sent.front())) sent.remove_prefix(1);
  while (!sent.empty() && blank(sent.back())) sent.remove_suffix(1);
  if (!sent.empty() && sent != "{}")
    co_return error_response(
        bad_request("this request takes no body (or {}): the api makes the token"));
  const std::string user_id(ctx.param("id"));
  const std::string token = new_token(user_id);
  request_body body = rotate_token_request{user_id, sha256_hex(token)};
  co_return co_await call_with_token(ctx, std::move(body), outcome::ok, token);
}

// Ends the user's streams (reason "deleted"), then removes the user and its audit trail.
asio::awaitable<http_response> delete_user(const request_context& ctx) {
  request_body body = delete_user_request{std::string(ctx.param("id"))};
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> patch_user(const request_context& ctx) {
  auto decoded = decode_patch_user_body(ctx.request.body(), std::string(ctx.param("id")));
  if (!decoded) co_return error_response(decoded.error());
  request_body body = std::move(*decoded);
  co_return co_await relay(ctx, std::move(body));
}

}  // namespace streamgate
