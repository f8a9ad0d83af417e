#include <utility>

#include "api/routes/handlers.hpp"
#include "api/http/responses.hpp"
#include "api/services.hpp"
#include "api/worker_link/worker_client.hpp"

namespace streamgate {

asio::awaitable<http_response> relay(const request_context& ctx, request_body body) {
  auto reply = co_await ctx.services.worker.call(std::move(body), ctx.services.verdict_timeout);
  if (!reply)
    co_return error_response(error_code::unavailable, "no worker answered in time; retry");
  co_return reply_response(*reply);
}

}  // namespace streamgate
