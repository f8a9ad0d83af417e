#include "api/http/cross_site_guard.hpp"

#include <boost/beast/http/field.hpp>
#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace streamgate {
namespace {

using http::verb;

struct guard_case {
  std::string name;
  verb method;
  std::vector<std::pair<http::field, std::string>> headers;
  std::string body;
  std::optional<error_code> refused;  // none: served
};

http_request request_of(const guard_case& c) {
  http_request request{c.method, "/api/v1/users/alice/streams", 11};
  for (const auto& [field, value] : c.headers) request.set(field, value);
  request.body() = c.body;
  request.prepare_payload();
  return request;
}

const std::string json_body = R"({"videoId":"v01"})";
const std::pair<http::field, std::string> local_host{http::field::host, "127.0.0.1:8080"};
const std::pair<http::field, std::string> port_80_host{http::field::host, "127.0.0.1:80"};
const std::pair<http::field, std::string> json_type{http::field::content_type, "application/json"};

std::pair<http::field, std::string> origin(std::string value) {
  return {http::field::origin, std::move(value)};
}

}  // namespace

TEST_CASE("the cross-site guard serves what a foreign page cannot send and refuses the rest",
          "[cross-site]") {
  const cross_site_guard guard(true, {"https://app.example.com", "http://LOCALHOST:3000"});
  using e = error_code;
  const auto c = GENERATE(values<guard_case>({
      // Content types of a body.
      {"a JSON body", verb::post, {local_host, json_type}, json_body, std::nullopt},
      {"a JSON body with a charset",
       verb::post,
       {local_host, {http::field::content_type, "Application/JSON ; charset=utf-8"}},
       json_body,
       std::nullopt},
      {"a text/plain body (no CORS preflight)",
       verb::post,
       {local_host, {http::field::content_type, "text/plain"}},
       json_body,
       e::unsupported_media_type},
      {"a form body",
       verb::patch,
       {local_host, {http::field::content_type, "application/x-www-form-urlencoded"}},
       json_body,
       e::unsupported_media_type},
      {"a body without a type", verb::put, {local_host}, json_body, e::unsupported_media_type},
      {"a look-alike type",
       verb::post,
       {local_host, {http::field::content_type, "application/json-seq"}},
       json_body,
       e::unsupported_media_type},
      {"a POST without a body needs no type", verb::post, {local_host}, "", std::nullopt},
      // Origins.
      {"no Origin (curl, servers)", verb::delete_, {local_host}, "", std::nullopt},
      {"the api's own origin", verb::post, {local_host, json_type, origin("http://127.0.0.1:8080")},
       json_body, std::nullopt},
      {"the own origin in upper case", verb::delete_, {local_host, origin("HTTP://127.0.0.1:8080")},
       "", std::nullopt},
      {"a foreign origin's POST", verb::post, {local_host, json_type, origin("http://evil.example")},
       json_body, e::forbidden},
      {"a foreign origin's DELETE", verb::delete_, {local_host, origin("http://evil.example")}, "",
       e::forbidden},
      {"another port is another origin", verb::delete_,
       {local_host, origin("http://127.0.0.1:9999")}, "", e::forbidden},
      {"https is another origin", verb::delete_, {local_host, origin("https://127.0.0.1:8080")}, "",
       e::forbidden},
      {"an opaque origin", verb::delete_, {local_host, origin("null")}, "", e::forbidden},
      {"a foreign origin may read", verb::get, {local_host, origin("http://evil.example")}, "",
       std::nullopt},
      {"an allowed origin", verb::post, {local_host, json_type, origin("https://app.example.com")},
       json_body, std::nullopt},
      {"an allowed origin, compared in lower case", verb::delete_,
       {local_host, origin("http://localhost:3000")}, "", std::nullopt},
      {"an allowed origin's default port", verb::delete_,
       {local_host, origin("https://app.example.com:443")}, "", std::nullopt},
      // A browser leaves out the default port, which the Host may carry (RFC 6454 §6.2).
      {"the own origin on port 80", verb::delete_, {port_80_host, origin("http://127.0.0.1")}, "",
       std::nullopt},
      {"a WebSocket upgrade from a foreign origin",
       verb::get,
       {local_host,
        {http::field::upgrade, "websocket"},
        {http::field::connection, "Upgrade"},
        {http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ=="},
        {http::field::sec_websocket_version, "13"},
        origin("http://evil.example")},
       "",
       e::forbidden},
      {"a WebSocket upgrade from the own origin",
       verb::get,
       {local_host,
        {http::field::upgrade, "websocket"},
        {http::field::connection, "Upgrade"},
        {http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ=="},
        {http::field::sec_websocket_version, "13"},
        origin("http://127.0.0.1:8080")},
       "",
       std::nullopt},
      // Hosts of an api on loopback (DNS rebinding).
      {"a rebound name as Host", verb::get, {{http::field::host, "evil.example:8080"}}, "",
       e::misdirected_request},
      {"a rebound name with the own Origin", verb::delete_,
       {{http::field::host, "evil.example:8080"}, origin("http://evil.example:8080")}, "",
       e::misdirected_request},
      {"localhost", verb::get, {{http::field::host, "localhost:8080"}}, "", std::nullopt},
      {"[::1]", verb::get, {{http::field::host, "[::1]:8080"}}, "", std::nullopt},
      {"127.0.0.1 without a port", verb::get, {{http::field::host, "127.0.0.1"}}, "", std::nullopt},
      {"a name ending in localhost", verb::get, {{http::field::host, "localhost.evil.example"}}, "",
       e::misdirected_request},
      {"a name starting with 127.0.0.1", verb::get, {{http::field::host, "127.0.0.1.evil.example"}},
       "", e::misdirected_request},
  }));
  CAPTURE(c.name);
  const std::optional<error> refused = guard.refusal(request_of(c));
  if (!c.refused) {
    INFO((refused ? refused->message : std::string()));
    CHECK_FALSE(refused.has_value());
    return;
  }
  REQUIRE(refused.has_value());
  CAPTURE(refused->message);
  CHECK(refused->code == *c.refused);
  CHECK_FALSE(refused->message.empty());
}

TEST_CASE("an api not on loopback serves any Host, and still checks Origin", "[cross-site]") {
  const cross_site_guard guard(false, {});
  http_request request{verb::delete_, "/api/v1/users/alice/streams", 11};
  request.set(http::field::host, "streamgate.example.com");
  CHECK_FALSE(guard.refusal(request).has_value());
  request.set(http::field::origin, "http://streamgate.example.com");
  CHECK_FALSE(guard.refusal(request).has_value());
  request.set(http::field::origin, "http://evil.example");
  const auto refused = guard.refusal(request);
  REQUIRE(refused.has_value());
  CHECK(refused->code == error_code::forbidden);
}

TEST_CASE("loopback hosts are told from names that only look like them", "[cross-site]") {
  const auto [host, loopback] = GENERATE(table<std::string, bool>({
      {"127.0.0.1", true},
      {"127.0.0.1:8080", true},
      {"127.1.2.3:80", true},
      {"LocalHost:8080", true},
      {"[::1]", true},
      {"[::1]:8080", true},
      {"10.0.0.1:8080", false},
      {"localhost:", false},
      {"localhost:80a", false},
      {"[::1", false},
      {"[::2]:8080", false},
      {"::1", false},
      {"", false},
  }));
  CAPTURE(host);
  CHECK(is_loopback_host(host) == loopback);
}

}  // namespace streamgate
