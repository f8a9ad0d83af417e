#include "api/routes/handlers.hpp"
#include "api/http/responses.hpp"
#include "api/services.hpp"
#include "api/http/status_map.hpp"
#include "api/worker_link/worker_client.hpp"

namespace streamgate {

// No worker round trip: liveness comes from the link's background pings, so a load balancer
// polling /health costs no more than a bare HTTP answer.
asio::awaitable<http_response> get_health(const request_context& ctx) {
  if (ctx.services.worker.worker_up())
    co_return json_response(status_of(outcome::ok), R"({"status":"UP","worker":"UP"})");
  co_return json_response(status_of(outcome::unavailable), R"({"status":"UP","worker":"DOWN"})");
}

}  // namespace streamgate
