#include <string>
#include <utility>

#include "api/routes/handlers.hpp"
#include "api/http/query_limit.hpp"
#include "api/http/responses.hpp"

namespace streamgate {

asio::awaitable<http_response> list_user_events(const request_context& ctx) {
  const result<int> limit = query_limit(ctx, default_audit_limit, max_audit_limit);
  if (!limit) co_return error_response(limit.error());
  request_body body = list_events_request{std::string(ctx.param("id")), *limit};
  co_return co_await relay(ctx, std::move(body));
}

}  // namespace streamgate
