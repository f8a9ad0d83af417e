#include "api/api_routes.hpp"

#include "api/handlers.hpp"

namespace streamgate {

router make_api_router() {
  using http::verb;
  // /health first: it is the route polled most, and matching is a scan in this order.
  return router(
      {
          {verb::get, "/health", get_health},
          {verb::get, "/metrics", get_metrics},
          {verb::get, "/openapi.json", get_openapi},
          {verb::get, "/docs", get_docs},
          {verb::get, "/api/v1/users", list_users},
          {verb::post, "/api/v1/users", create_user},
          {verb::get, "/api/v1/users/{id}", get_user},
          {verb::patch, "/api/v1/users/{id}", patch_user},
          {verb::get, "/api/v1/users/{id}/streams", list_streams},
          {verb::post, "/api/v1/users/{id}/streams", start_stream},
          {verb::delete_, "/api/v1/users/{id}/streams", stop_all_streams},
          {verb::delete_, "/api/v1/users/{id}/streams/{streamId}", stop_stream},
          {verb::post, "/api/v1/users/{id}/streams/{streamId}/heartbeat", heartbeat_stream},
          {verb::get, "/api/v1/users/{id}/events", list_user_events},
          {verb::get, "/api/v1/requests/{requestId}", get_request},
          {verb::get, "/api/v1/videos", list_videos},
          {verb::get, "/api/v1/videos/{id}", get_video},
          // Upgrades to a WebSocket never get here (http_session hands them over).
          {verb::get, "/ws", websocket_without_upgrade},
      },
      serve_static_file);
}

}  // namespace streamgate
