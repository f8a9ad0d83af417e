// libFuzzer harness: the api's HTTP path, in process. The bytes after the first are what a
// client sends on one connection (one request or several pipelined); they go through a Beast
// request parser with the api's own limits (api/http/http_limits.hpp); each head goes through the
// api's check of heads (api/http/request_head), and every request parsed through its check of other
// sites' requests (api/http/cross_site_guard), router and handlers, on an io_context run here, to a
// fake worker whose reply the first byte chooses (each outcome, or none in time).
//
// Whatever the bytes, nothing may crash, hang, leak or throw, and every answer must be one the
// api can put on the wire: a status of the contract, no CR or LF in a header value, an Allow
// header on a 405, and a body that parses wherever the content type says JSON.
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "api/routes/api_routes.hpp"
#include "api/http/cross_site_guard.hpp"
#include "api/http/http_limits.hpp"
#include "api/http/request_head.hpp"
#include "api/http/responses.hpp"
#include "api/http/router.hpp"
#include "api/services.hpp"
#include "api/worker_link/worker_client.hpp"
#include "api/websocket/ws_registry.hpp"
#include "common/worker_replies.hpp"

using namespace streamgate;

namespace {

using namespace std::chrono_literals;

// Replies as the first byte of the input says: an outcome with a body of its kind, or none (the
// handlers' 503 path).
class scripted_worker final : public worker_client {
 public:
  void script(std::uint8_t byte) { byte_ = byte; }

  asio::awaitable<std::optional<worker_reply>> call(request_body,
                                                    std::chrono::milliseconds) override {
    co_return reply();
  }
  bool send_only(request_body) override { return (byte_ & 0x40) == 0; }
  bool worker_up() const override { return (byte_ & 0x20) == 0; }
  bool in_flight(std::string_view) const override { return (byte_ & 0x10) != 0; }

 private:
  std::optional<worker_reply> reply() const {
    constexpr int outcomes = static_cast<int>(outcome::internal) + 1;
    const int pick = byte_ % (outcomes + 1);
    if (pick == outcomes) return std::nullopt;
    const auto o = static_cast<outcome>(pick);
    switch (o) {
      case outcome::ok:
        return worker_reply{o, user_view{{"alice", "Alice", 3, std::nullopt}, 3, policy::deny, 0}};
      case outcome::created:
        return worker_reply{o, user_view{{"bob", "Bob", 3, std::nullopt}, 3, policy::deny, 0}};
      case outcome::no_content: return worker_reply{o, std::monostate{}};
      case outcome::allowed: {
        verdict v = decided(true);
        v.granted = stream{"s1", "alice", "v01", "ses_1", 0, 90000};
        return worker_reply{o, std::move(v), playback_pass{"s1.token", 60000}};
      }
      case outcome::denied: {
        verdict v = decided(false);
        v.reason = "limit_reached";
        return worker_reply{o, std::move(v)};
      }
      default: return worker_reply{o, error{error_code::not_found, "no such thing"}};
    }
  }

  static verdict decided(bool allowed) {
    verdict v;
    v.request_id = "r1";
    v.user_id = "alice";
    v.video_id = "v01";
    v.allowed = allowed;
    v.active = 1;
    v.limit = 1;
    return v;
  }

  std::uint8_t byte_ = 0;
};

struct api_in_process {
  scripted_worker worker;
  ws_registry sockets;
  router routes = make_api_router();
  api_services services{worker, sockets, routes, 50ms, STREAMGATE_WEB_ROOT};
  // As a listener bound to loopback, or not (the first byte's top bit), with one
  // --allowed-origin; the seeds' Host is a name, so most of them reach the router.
  cross_site_guard loopback_guard{true, {"https://app.example"}};
  cross_site_guard open_guard{false, {"https://app.example"}};

  api_in_process() {
    services.docs_root = "/nonexistent-docs-root";
    spdlog::set_level(spdlog::level::off);  // handlers log what they refuse; not the point here
  }
};

[[noreturn]] void finding(const std::string& what, const http_response& res) {
  std::ostringstream text;
  text << what << "\n" << res;
  throw std::logic_error(text.str());
}

bool has_line_break(std::string_view value) {
  return value.find_first_of("\r\n") != std::string_view::npos;
}

void check_answer(http_response& res) {
  switch (res.result_int()) {
    case 200: case 201: case 202: case 204: case 400: case 401: case 403: case 404: case 405:
    case 409: case 413: case 415: case 421: case 429: case 431: case 500: case 503: break;
    default: finding("a status outside the contract", res);
  }
  for (const auto& field : res.base())
    if (has_line_break(field.name_string()) || has_line_break(field.value()))
      finding("a header with a line break", res);
  if (res.result() == http::status::method_not_allowed && res[http::field::allow].empty())
    finding("a 405 without Allow", res);
  if (res[http::field::content_type] == "application/json" && !res.body().empty()) {
    rapidjson::Document doc;
    doc.Parse(res.body().data(), res.body().size());
    if (doc.HasParseError() || (!doc.IsObject() && !doc.IsArray()))
      finding("a JSON answer that is not a JSON object or array", res);
  }
  // What http_session does before writing, then the writing itself into memory.
  res.keep_alive(false);
  res.prepare_payload();
  std::ostringstream wire;
  wire << res;
}

http_response answer(api_in_process& api, const http_request& request) {
  if (beast::websocket::is_upgrade(request)) {
    // Upgrades are handed to a websocket_session before routing; only the refusal is an answer.
    const result<std::string> user = websocket_user(request);
    if (user) return http_response{http::status::switching_protocols, 11};
    return http_response{http::status::bad_request, 11};
  }
  asio::io_context ioc;
  std::optional<http_response> out;
  asio::co_spawn(ioc, api.routes.dispatch(request, api.services),
                 [&](std::exception_ptr e, http_response res) {
                   if (e) std::rethrow_exception(e);  // a handler that throws is a finding
                   out = std::move(res);
                 });
  ioc.run();
  if (!out) throw std::logic_error("the router never answered");
  return std::move(*out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static api_in_process api;
  if (size == 0) return 0;
  api.worker.script(data[0]);
  const cross_site_guard& guard = (data[0] & 0x80) != 0 ? api.loopback_guard : api.open_guard;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  // As http_session: one request after another from the same bytes, until one fails to parse,
  // asks to close, or upgrades; a half request at the end is what a closed connection leaves.
  while (!rest.empty()) {
    http::request_parser<http::string_body> parser;
    apply_request_limits(parser);
    beast::error_code ec;
    // The head alone first: http_session checks it before reading any of the body.
    const auto feed = [&](auto done) {
      while (!done() && !rest.empty()) {
        const std::size_t used = parser.put(asio::buffer(rest.data(), rest.size()), ec);
        rest.remove_prefix(used);
        if (ec == http::error::need_more && used == 0) return;
        if (ec && ec != http::error::need_more) return;
      }
    };
    feed([&] { return parser.is_header_done(); });
    if (!parser.is_header_done()) return 0;
    if (const std::optional<error> refused = check_request_head(parser.get())) {
      http_response res = error_response(*refused);
      check_answer(res);
      return 0;  // the session closes the connection
    }
    feed([&] { return parser.is_done(); });
    if (!parser.is_done()) return 0;
    const http_request& request = parser.get();
    const bool upgrade = beast::websocket::is_upgrade(request);
    http_response res;
    if (const std::optional<error> refused = guard.refusal(request))
      res = error_response(*refused);
    else
      res = answer(api, request);
    if (res.result() != http::status::switching_protocols) check_answer(res);
    if (upgrade || !request.keep_alive()) return 0;
  }
  return 0;
}
