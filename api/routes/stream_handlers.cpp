#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "api/http/responses.hpp"
#include "api/http/status_map.hpp"
#include "api/routes/handlers.hpp"
#include "api/routes/new_start.hpp"
#include "api/routes/start_rate_limit.hpp"
#include "api/services.hpp"
#include "api/views/views.hpp"
#include "api/worker_link/worker_client.hpp"
#include "common/codec.hpp"

namespace streamgate {

namespace {

// ?wait=true|1 waits for the verdict; false|0 or no parameter answers 202 at once.
result<bool> wait_mode(const request_context& ctx) {
  const std::optional<std::string> wait = ctx.query("wait");
  if (!wait || *wait == "false" || *wait == "0") return false;
  if (*wait == "true" || *wait == "1") return true;
  return bad_request("query parameter 'wait' must be true or false");
}

// Every answer to a start names its requestId, so the client can retry without a second slot: a
// verdict's body names it already, an error's is rendered with it (render_start_error).
http_response retry_later(std::string_view request_id, std::string_view message) {
  http_response res = error_response(error_code::unavailable, message);
  res.body() = render_start_error(error{error_code::unavailable, std::string(message)}, request_id);
  return res;
}

// 429 rate_limited with Retry-After in whole seconds, or nothing when the start may go.
std::optional<http_response> rate_limited(const api_services& services, std::string_view user_id) {
  const auto refused = refuse_start(services, user_id);
  if (!refused) return std::nullopt;
  http_response res = error_response(refused->reason);
  res.set(http::field::retry_after, std::to_string((refused->wait.count() + 999) / 1000));
  return res;
}

}  // namespace

asio::awaitable<http_response> list_streams(const request_context& ctx) {
  request_body body = list_streams_request{std::string(ctx.param("id"))};
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> start_stream(const request_context& ctx) {
  auto body = decode_start_body(ctx.request.body());
  if (!body) co_return error_response(body.error());
  if (auto refused = rate_limited(ctx.services, ctx.param("id"))) co_return std::move(*refused);
  const result<bool> wait = wait_mode(ctx);
  if (!wait) co_return error_response(wait.error());

  start_request start = new_start(std::move(*body), std::string(ctx.param("id")));
  const std::string request_id = start.request_id;
  worker_client& worker = ctx.services.worker;

  if (!*wait) {
    if (!worker.worker_up() || !worker.send_only(std::move(start)))
      co_return retry_later(request_id, "no worker is available; retry with the same requestId");
    co_return json_response(http::status::accepted, render_pending(request_id));
  }
  request_body call = std::move(start);
  auto reply = co_await worker.call(std::move(call), ctx.services.verdict_timeout);
  if (!reply)
    co_return retry_later(request_id, "no verdict in time; retry with the same requestId");
  if (const auto* failed = std::get_if<error>(&reply->body))
    co_return json_response(status_of(reply->result), render_start_error(*failed, request_id));
  co_return reply_response(*reply);
}

asio::awaitable<http_response> heartbeat_stream(const request_context& ctx) {
  request_body body =
      heartbeat_request{std::string(ctx.param("id")), std::string(ctx.param("streamId"))};
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> stop_stream(const request_context& ctx) {
  request_body body =
      stop_request{std::string(ctx.param("id")), std::string(ctx.param("streamId"))};
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> stop_all_streams(const request_context& ctx) {
  request_body body = stop_all_request{std::string(ctx.param("id"))};
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> get_request(const request_context& ctx) {
  const std::string_view request_id = ctx.param("requestId");
  worker_client& worker = ctx.services.worker;
  // With --auth token a user sees only their own requests; another's is an unknown id.
  get_request_request lookup{std::string(request_id)};
  if (!ctx.caller.empty()) lookup.owner_id = std::string(ctx.caller);
  request_body body = std::move(lookup);
  auto reply = co_await worker.call(std::move(body), ctx.services.verdict_timeout);
  if (!reply)
    co_return error_response(error_code::unavailable, "no worker answered in time; retry");
  // Not decided yet, but sent by this api: the verdict is on its way.
  if (reply->result == outcome::not_found && worker.in_flight(request_id))
    co_return json_response(http::status::ok, render_pending(request_id));
  co_return reply_response(*reply);
}

}  // namespace streamgate
