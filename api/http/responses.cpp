#include "api/http/responses.hpp"

#include <utility>

#include "api/http/status_map.hpp"
#include "api/views/views.hpp"

namespace streamgate {

namespace {
constexpr std::string_view json_type = "application/json";
}  // namespace

http_response json_response(http::status status, std::string body) {
  http_response res{status, 11};
  res.set(http::field::content_type, json_type);
  // Every 503 says when to come back (openapi.json, "Unavailable"): the api's own, and a
  // worker's whose store (or one server of it) cannot be reached.
  if (status == http::status::service_unavailable) res.set(http::field::retry_after, "1");
  res.body() = std::move(body);
  return res;
}

http_response error_response(const error& e) { return error_response(e.code, e.message); }

http_response error_response(error_code code, std::string_view message) {
  http_response res = json_response(status_of(code), render_error(code, message));
  // RFC 6750: a 401 names the scheme that would be accepted.
  if (code == error_code::unauthorized)
    res.set(http::field::www_authenticate, R"(Bearer realm="streamgate")");
  // RFC 6455 §4.2.2: a refused WebSocket version is answered with the one this api speaks.
  if (code == error_code::upgrade_required) res.set(http::field::sec_websocket_version, "13");
  return res;
}

http_response reply_response(const worker_reply& reply) {
  const http::status status = status_of(reply.result);
  if (status == http::status::no_content) return http_response{status, 11};
  return json_response(status, render_body(reply.body, reply.playback ? &*reply.playback : nullptr));
}

}  // namespace streamgate
