#include <charconv>
#include <string>
#include <utility>

#include "api/handlers.hpp"
#include "api/responses.hpp"

namespace streamgate {

namespace {

// ?limit= from 1 to max_audit_limit; default_audit_limit when absent.
result<int> audit_limit(const request_context& ctx) {
  const std::optional<std::string> text = ctx.query("limit");
  if (!text) return default_audit_limit;
  int limit = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, limit);
  if (text->empty() || ec != std::errc() || ptr != end || limit < 1 || limit > max_audit_limit)
    return bad_request("query parameter 'limit' must be an integer from 1 to " +
                       std::to_string(max_audit_limit));
  return limit;
}

}  // namespace

asio::awaitable<http_response> list_user_events(const request_context& ctx) {
  const result<int> limit = audit_limit(ctx);
  if (!limit) co_return error_response(limit.error());
  request_body body = list_events_request{std::string(ctx.param("id")), *limit};
  co_return co_await relay(ctx, std::move(body));
}

}  // namespace streamgate
