#include <string>

#include "api/routes/handlers.hpp"

namespace streamgate {

asio::awaitable<http_response> list_videos(const request_context& ctx) {
  request_body body = list_videos_request{};
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> get_video(const request_context& ctx) {
  request_body body = get_video_request{std::string(ctx.param("id"))};
  co_return co_await relay(ctx, std::move(body));
}

// Plans are catalog data like the videos, so they are served here too.
asio::awaitable<http_response> list_plans(const request_context& ctx) {
  request_body body = list_plans_request{};
  co_return co_await relay(ctx, std::move(body));
}

}  // namespace streamgate
