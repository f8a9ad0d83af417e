#pragma once

// A walkable route table (method + path pattern with {param}s + handler coroutine) and the
// dispatch that answers 400/404/405 itself, so handlers only see requests they serve.

#include <array>
#include <boost/url/url_view.hpp>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/http_types.hpp"
#include "common/error.hpp"

namespace streamgate {

struct api_services;

struct path_param {
  std::string_view name;
  std::string_view value;
};

// Everything a handler sees of one request: no socket, so handlers are tested directly. The
// views point into the request, which outlives the handler.
struct request_context {
  const http_request& request;
  const api_services& services;
  boost::urls::url_view target;  // path and query of the request-target
  std::span<const path_param> params;
  // With --auth token, the user whose token the request carries; empty for the admin, for open
  // routes and without auth. Handlers of access::caller routes answer only about this user.
  std::string_view caller{};

  // The value of {name} in the route's pattern; every one is a valid id by then.
  std::string_view param(std::string_view name) const;
  // The decoded value of a query parameter; nullopt when absent.
  std::optional<std::string> query(std::string_view key) const;
};

using route_handler = asio::awaitable<http_response> (*)(const request_context&);

// Who may use a route with --auth token (api/auth); without auth everyone may use every route.
enum class access {
  open,    // anyone, no token needed: health, metrics, docs, videos, plans
  owner,   // the user named by the path's {id}, with their token, or the admin
  caller,  // any user with their token (the handler limits the answer to ctx.caller), or the admin
  admin,   // the admin token only
};

std::string_view to_string(access a);

struct route {
  http::verb method;
  // "/api/v1/users/{id}/streams"; every {param} must be an id, but {file}, a file name
  // (common/ids.hpp)
  std::string_view pattern;
  route_handler handler;
  // Closed unless the table says otherwise: a route added without thought needs the admin.
  streamgate::access access = access::admin;
};

inline constexpr std::size_t max_path_params = 4;

struct route_match {
  const route* found = nullptr;
  std::array<path_param, max_path_params> params{};
  std::size_t param_count = 0;
  std::string allow;  // when the path exists for other methods only: "GET, POST"
};

class router final {
 public:
  // `fallback` answers the GETs and HEADs that no route claims (the web UI's static files).
  router(std::vector<route> routes, route_handler fallback);

  const std::vector<route>& routes() const { return routes_; }

  // `path` is the request-target's path, still percent-encoded.
  route_match match(http::verb method, std::string_view path) const;

  asio::awaitable<http_response> dispatch(const http_request& request,
                                          const api_services& services) const;

 private:
  // The answer; `route_label` names what served it, for streamgate_http_requests_total.
  asio::awaitable<http_response> answer(const http_request& request, const api_services& services,
                                        std::string_view& route_label) const;

  std::vector<route> routes_;
  std::vector<std::vector<std::string_view>> patterns_;  // each route's pattern, split at '/'
  route_handler fallback_;
};

// GET /ws?user={id} with an upgrade: the user the WebSocket is for, or the error to answer.
// Upgrades are handed over before routing; a /ws request without one reaches the router.
result<std::string> websocket_user(const http_request& request);

// The route of /ws for requests that are not upgrades: 400, since the endpoint is a WebSocket.
asio::awaitable<http_response> websocket_without_upgrade(const request_context& ctx);

}  // namespace streamgate
