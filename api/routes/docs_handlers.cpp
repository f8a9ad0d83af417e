#include <algorithm>
#include <chrono>
#include <string>
#include <utility>
#include <variant>

#include "api/routes/embedded.hpp"
#include "api/routes/handlers.hpp"
#include "api/metrics/metrics.hpp"
#include "api/services.hpp"
#include "api/worker_link/worker_client.hpp"
#include "api/websocket/ws_registry.hpp"

namespace streamgate {

namespace {

http_response text_response(std::string_view content_type, std::string_view body) {
  http_response res{http::status::ok, 11};
  res.set(http::field::content_type, content_type);
  res.body() = std::string(body);
  return res;
}

}  // namespace

asio::awaitable<http_response> get_openapi(const request_context&) {
  co_return text_response("application/json", openapi_document);
}

asio::awaitable<http_response> get_docs(const request_context&) {
  co_return text_response("text/html; charset=utf-8", docs_page);
}

asio::awaitable<http_response> get_metrics(const request_context& ctx) {
  using namespace std::chrono_literals;
  const api_services& s = ctx.services;
  std::string body = metrics().render(s.link, s.worker.worker_up(), s.sockets.size());
  // The worker's batch sizes: one short round trip per scrape; a scrape while no worker answers
  // goes without them rather than waiting.
  if (s.worker.worker_up()) {
    request_body ask = stats_request{};
    const auto reply = co_await s.worker.call(std::move(ask), std::min(s.verdict_timeout, 500ms));
    if (const auto* stats = reply ? std::get_if<worker_stats>(&reply->body) : nullptr)
      body += render_worker_stats(*stats);
  }
  co_return text_response("text/plain; version=0.0.4; charset=utf-8", body);
}

}  // namespace streamgate
