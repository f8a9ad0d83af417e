#pragma once

// The REST handlers of docs/design.md §3. Each validates what the router could not (bodies,
// query parameters), asks a worker, and relays its reply; none knows a socket.

#include "api/http/router.hpp"
#include "common/messages.hpp"

namespace streamgate {

asio::awaitable<http_response> get_health(const request_context& ctx);

asio::awaitable<http_response> list_users(const request_context& ctx);
asio::awaitable<http_response> get_user(const request_context& ctx);
asio::awaitable<http_response> create_user(const request_context& ctx);
asio::awaitable<http_response> patch_user(const request_context& ctx);
asio::awaitable<http_response> delete_user(const request_context& ctx);
asio::awaitable<http_response> rotate_user_token(const request_context& ctx);

asio::awaitable<http_response> list_streams(const request_context& ctx);
asio::awaitable<http_response> start_stream(const request_context& ctx);
asio::awaitable<http_response> heartbeat_stream(const request_context& ctx);
asio::awaitable<http_response> stop_stream(const request_context& ctx);
asio::awaitable<http_response> stop_all_streams(const request_context& ctx);
asio::awaitable<http_response> get_request(const request_context& ctx);

asio::awaitable<http_response> list_videos(const request_context& ctx);
asio::awaitable<http_response> get_video(const request_context& ctx);
asio::awaitable<http_response> list_plans(const request_context& ctx);

asio::awaitable<http_response> list_user_events(const request_context& ctx);

// GET /openapi.json, /docs (both compiled in) and /metrics.
asio::awaitable<http_response> get_openapi(const request_context& ctx);
asio::awaitable<http_response> get_docs(const request_context& ctx);
asio::awaitable<http_response> get_metrics(const request_context& ctx);

// GETs of paths no route claims: files under docs_root for /docs/assets/..., else files under
// web_root ("/" is index.html), else 404.
asio::awaitable<http_response> serve_static_file(const request_context& ctx);

// Playback (docs/design.md §9): GET /media/{videoId}/{file}?token=T, and the token check of
// GET /api/v1/playback/authorize for an origin in front (X-Original-URI).
asio::awaitable<http_response> serve_media(const request_context& ctx);
asio::awaitable<http_response> authorize_playback(const request_context& ctx);

// Shared by the handlers: one worker round trip, its reply relayed as is, 503 when none came.
asio::awaitable<http_response> relay(const request_context& ctx, request_body body);

}  // namespace streamgate
