#include <string>

#include "api/handlers.hpp"

namespace streamgate {

asio::awaitable<http_response> list_videos(const request_context& ctx) {
  request_body body = list_videos_request{};
  co_return co_await relay(ctx, std::move(body));
}

asio::awaitable<http_response> get_video(const request_context& ctx) {
  request_body body = get_video_request{std::string(ctx.param("id"))};
  co_return co_await relay(ctx, std::move(body));
}

}  // namespace streamgate
