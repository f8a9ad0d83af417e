#include "api/routes/api_routes.hpp"

#include "api/routes/handlers.hpp"

namespace streamgate {

router make_api_router() {
  using http::verb;
  // /health first: it is the route polled most, and matching is a scan in this order.
  // The last column is who may call it with --auth token (api/auth): the admin manages users,
  // a user acts on their own streams, and what serves the UI, the docs and the catalog (videos,
  // plans) is open.
  return router(
      {
          {verb::get, "/health", get_health, access::open},
          {verb::get, "/metrics", get_metrics, access::open},
          {verb::get, "/openapi.json", get_openapi, access::open},
          {verb::get, "/docs", get_docs, access::open},
          {verb::get, "/api/v1/users", list_users, access::admin},
          {verb::post, "/api/v1/users", create_user, access::admin},
          {verb::get, "/api/v1/users/{id}", get_user, access::owner},
          {verb::patch, "/api/v1/users/{id}", patch_user, access::admin},
          {verb::delete_, "/api/v1/users/{id}", delete_user, access::admin},
          {verb::post, "/api/v1/users/{id}/token", rotate_user_token, access::admin},
          {verb::get, "/api/v1/users/{id}/streams", list_streams, access::owner},
          {verb::post, "/api/v1/users/{id}/streams", start_stream, access::owner},
          {verb::delete_, "/api/v1/users/{id}/streams", stop_all_streams, access::owner},
          {verb::delete_, "/api/v1/users/{id}/streams/{streamId}", stop_stream, access::owner},
          {verb::post, "/api/v1/users/{id}/streams/{streamId}/heartbeat", heartbeat_stream,
           access::owner},
          {verb::get, "/api/v1/users/{id}/events", list_user_events, access::owner},
          {verb::get, "/api/v1/requests/{requestId}", get_request, access::caller},
          {verb::get, "/api/v1/videos", list_videos, access::open},
          {verb::get, "/api/v1/videos/{id}", get_video, access::open},
          {verb::get, "/api/v1/plans", list_plans, access::open},
          // The playback token is the credential (docs/design.md §9).
          {verb::get, "/api/v1/playback/authorize", authorize_playback, access::open},
          {verb::get, "/media/{videoId}/{file}", serve_media, access::open},
          // Upgrades to a WebSocket never get here (http_session hands them over); without one
          // the answer is a 400 whoever asks.
          {verb::get, "/ws", websocket_without_upgrade, access::open},
      },
      serve_static_file);
}

}  // namespace streamgate
