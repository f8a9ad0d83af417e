#include "api/http/router.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/beast/websocket/rfc6455.hpp>
#include <boost/url/parse.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "api/auth/auth.hpp"
#include "api/http/responses.hpp"
#include "api/metrics/metrics.hpp"
#include "api/routes/static_headers.hpp"
#include "common/ids.hpp"

namespace streamgate {

namespace {

// Deeper than any route; a longer path cannot match, so it is not split further.
constexpr std::size_t max_segments = 16;

constexpr std::string_view id_rule = "must be an id matching [A-Za-z0-9_-]{1,64}";
constexpr std::string_view file_rule = "must be a file name matching [A-Za-z0-9_.-]{1,128}, no '.' first";
constexpr std::string_view no_upgrade = "GET /ws expects a WebSocket upgrade";

// Calls `each` on every segment of an absolute path ("/a/b" gives "a", "b"; "/" gives "").
template <class Each>
bool for_each_segment(std::string_view path, Each&& each) {
  if (path.empty() || path.front() != '/') return false;
  path.remove_prefix(1);
  for (;;) {
    const auto slash = path.find('/');
    if (!each(path.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

bool is_param(std::string_view segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

std::string_view param_name(std::string_view segment) {
  return segment.substr(1, segment.size() - 2);
}

}  // namespace

std::string_view to_string(access a) {
  switch (a) {
    case access::open: return "open";
    case access::owner: return "owner";
    case access::caller: return "caller";
    case access::admin: return "admin";
  }
  return "admin";
}

std::string_view request_context::param(std::string_view name) const {
  for (const path_param& p : params)
    if (p.name == name) return p.value;
  return {};
}

std::optional<std::string> request_context::query(std::string_view key) const {
  const auto query_params = target.params();
  const auto found = query_params.find(key);
  if (found == query_params.end()) return std::nullopt;
  return (*found).value;
}

router::router(std::vector<route> routes, route_handler fallback)
    : routes_(std::move(routes)), fallback_(fallback) {
  patterns_.reserve(routes_.size());
  for (const route& r : routes_) {
    std::vector<std::string_view> segments;
    std::size_t params = 0;
    const bool ok = for_each_segment(r.pattern, [&](std::string_view s) {
      params += is_param(s) ? 1 : 0;
      segments.push_back(s);
      return segments.size() <= max_segments;
    });
    if (!ok || params > max_path_params)
      throw std::invalid_argument("bad route pattern '" + std::string(r.pattern) + "'");
    patterns_.push_back(std::move(segments));
  }
}

route_match router::match(http::verb method, std::string_view path) const {
  std::array<std::string_view, max_segments> parts;
  std::size_t count = 0;
  const bool split = for_each_segment(path, [&](std::string_view s) {
    if (count == max_segments) return false;
    parts[count++] = s;
    return true;
  });
  route_match m;
  if (!split) return m;
  std::vector<http::verb> allowed;  // only filled on the cold path (a 405)
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    const std::vector<std::string_view>& pattern = patterns_[i];
    if (pattern.size() != count) continue;
    std::array<path_param, max_path_params> params{};
    std::size_t param_count = 0;
    bool same = true;
    for (std::size_t s = 0; s < count && same; ++s) {
      if (is_param(pattern[s]))
        params[param_count++] = {param_name(pattern[s]), parts[s]};
      else
        same = pattern[s] == parts[s];
    }
    if (!same) continue;
    // HEAD is answered like GET (RFC 9110 §9.3.2); the session writes no body for it.
    if (routes_[i].method == method ||
        (method == http::verb::head && routes_[i].method == http::verb::get)) {
      m.found = &routes_[i];
      m.params = params;
      m.param_count = param_count;
      return m;
    }
    if (std::find(allowed.begin(), allowed.end(), routes_[i].method) != allowed.end()) continue;
    allowed.push_back(routes_[i].method);
    if (!m.allow.empty()) m.allow += ", ";
    m.allow += http::to_string(routes_[i].method);
    if (routes_[i].method == http::verb::get) m.allow += ", HEAD";
  }
  return m;
}

namespace {

// A parameter given twice could be read as either value, and a proxy in front may take the other
// one: refused rather than chosen, as a field given twice in a body is (docs/design.md §5).
std::optional<std::string> repeated_parameter(const boost::urls::params_view& params) {
  if (params.size() < 2) return std::nullopt;  // a start's ?wait=true allocates nothing here
  std::vector<std::string> keys;
  for (const auto& p : params) keys.push_back(p.key);
  std::sort(keys.begin(), keys.end());
  const auto twice = std::adjacent_find(keys.begin(), keys.end());
  if (twice == keys.end()) return std::nullopt;
  return *twice;
}

// The "requestId" of a JSON body the api or a worker rendered; ids hold no quote or escape.
std::string_view request_id_in(std::string_view body) {
  constexpr std::string_view key = R"("requestId":")";
  const std::size_t at = body.find(key);
  if (at == std::string_view::npos) return {};
  const std::size_t start = at + key.size();
  const std::size_t end = body.find('"', start);
  if (end == std::string_view::npos || end - start > 64) return {};
  return body.substr(start, end - start);
}

}  // namespace

asio::awaitable<http_response> router::dispatch(const http_request& request,
                                                const api_services& services) const {
  std::string_view route_label = "unmatched";
  http_response res = co_await answer(request, services, route_label);
  metrics().count_request(route_label, res.result_int());
  // The access line names the requestId of a start (every answer to one carries it), so an
  // operator can follow one request from api to worker. Headers are never logged, and a token in
  // the query is redacted: a bearer token must not reach a log.
  if (spdlog::should_log(spdlog::level::debug)) {
    const std::string target = redacted_target(request.target());
    const bool about_a_start =
        (request.method() == http::verb::post && route_label == "/api/v1/users/{id}/streams") ||
        route_label == "/api/v1/requests/{requestId}";
    const std::string_view request_id = about_a_start ? request_id_in(res.body()) : "";
    if (request_id.empty())
      spdlog::debug("{} {} {}", std::string_view(request.method_string()), target,
                    res.result_int());
    else
      spdlog::debug("{} {} {} requestId={}", std::string_view(request.method_string()), target,
                    res.result_int(), request_id);
  }
  co_return res;
}

asio::awaitable<http_response> router::answer(const http_request& request,
                                              const api_services& services,
                                              std::string_view& route_label) const {
  const auto target = boost::urls::parse_origin_form(request.target());
  if (!target) co_return error_response(error_code::bad_request, "malformed request target");
  const route_match m = match(request.method(), target->encoded_path());
  if (m.found) {
    route_label = m.found->pattern;
    for (std::size_t i = 0; i < m.param_count; ++i) {
      const bool file = m.params[i].name == "file";
      if (file ? is_valid_file_name(m.params[i].value) : is_valid_id(m.params[i].value)) continue;
      co_return error_response(bad_request("path parameter '" + std::string(m.params[i].name) +
                                           "' " + std::string(file ? file_rule : id_rule)));
    }
    if (const auto repeated = repeated_parameter(target->params()))
      co_return error_response(
          bad_request("query parameter '" + *repeated + "' is given more than once"));
    const std::span<const path_param> params{m.params.data(), m.param_count};
    std::string caller;
    const request_context unchecked{request, services, *target, params};
    if (auto refused = co_await admit(request, *target, m.found->access, unchecked.param("id"),
                                      services, caller))
      co_return std::move(*refused);
    const request_context context{request, services, *target, params, caller};
    co_return co_await m.found->handler(context);
  }
  if (!m.allow.empty()) {
    http_response res = error_response(
        error_code::method_not_allowed,
        std::string(request.method_string()) + " is not allowed here; allowed: " + m.allow);
    res.set(http::field::allow, m.allow);
    co_return res;
  }
  // A HEAD reads like a GET here too (match).
  const bool reads = request.method() == http::verb::get || request.method() == http::verb::head;
  if (reads && fallback_) {
    route_label = "static";
    const request_context context{request, services, *target, {}};
    http_response res = co_await fallback_(context);
    add_static_headers(res);
    co_return res;
  }
  co_return error_response(error_code::not_found, "no such resource");
}

namespace {

// 22 characters of base64 and "==": the encoding of 16 bytes.
bool is_websocket_key(std::string_view key) {
  const auto base64 = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
  };
  return key.size() == 24 && key.ends_with("==") && std::all_of(key.begin(), key.end() - 2, base64);
}

}  // namespace

result<std::string> websocket_user(const http_request& request) {
  const auto target = boost::urls::parse_origin_form(request.target());
  if (!target || target->encoded_path() != "/ws")
    return error{error_code::not_found, "no such resource"};
  if (!boost::beast::websocket::is_upgrade(request)) return bad_request(std::string(no_upgrade));
  // RFC 6455 §4.2.1: a handshake that does not match the grammar is refused with 400.
  if (request.count(http::field::sec_websocket_key) != 1 ||
      !is_websocket_key(request[http::field::sec_websocket_key]))
    return bad_request("Sec-WebSocket-Key must be given once: 16 bytes in base64 (RFC 6455 §4.1)");
  // Checked here rather than left to Beast's accept, whose refusal is plain text (§4.2.2: a
  // version the server does not speak gets 426 and the versions it does).
  if (request.count(http::field::sec_websocket_version) != 1)
    return bad_request("Sec-WebSocket-Version must be given once: 13 (RFC 6455 §4.1)");
  if (request[http::field::sec_websocket_version] != "13")
    return error{error_code::upgrade_required, "this api speaks WebSocket version 13 only"};
  const auto query_params = target->params();
  const auto user = query_params.find("user");
  if (user == query_params.end() || !(*user).has_value)
    return bad_request("query parameter 'user' is required");
  // Whose socket it is must not depend on which of two values a proxy or the api would take.
  if (query_params.count("user") > 1)
    return bad_request("query parameter 'user' is given more than once");
  std::string id = (*user).value;
  if (!is_valid_id(id)) return bad_request("query parameter 'user' " + std::string(id_rule));
  return id;
}

asio::awaitable<http_response> websocket_without_upgrade(const request_context&) {
  co_return error_response(error_code::bad_request, no_upgrade);
}

}  // namespace streamgate
