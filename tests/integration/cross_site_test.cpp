// Cross-site use of an api on loopback (docs/design.md §6, api/http/cross_site_guard): what a foreign
// web page can make its visitor's browser send without a CORS preflight is refused before it
// reaches a worker, and what curl and the api's own pages send is served as before.

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "stack.hpp"

using namespace streamgate::it;

namespace {

const std::string start_body_json = R"({"videoId":"v01"})";

// A WebSocket upgrade of `user`'s socket, with `extra` header lines.
std::string upgrade_request(unsigned short port, const std::string& user, const std::string& extra) {
  return "GET /ws?user=" + user + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
         "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
         extra + "\r\n";
}

}  // namespace

TEST_CASE("a request body that is not application/json gets 415 and starts nothing",
          "[integration][cross-site]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);

  SECTION("refused") {
    const auto type = GENERATE(as<std::string>{}, "text/plain",
                               "application/x-www-form-urlencoded", "multipart/form-data; b=x",
                               "application/json-seq");
    CAPTURE(type);
    const auto r = http.request(http::verb::post, streams_path(user) + "?wait=true",
                                start_body_json, {{"Content-Type", type}});
    INFO(r.describe());
    check_error(r, 415, "unsupported_media_type");
    CHECK(stream_ids(http, user).empty());
  }
  SECTION("a body without any Content-Type") {
    const std::string bytes = "POST " + streams_path(user) +
                              "?wait=true HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " +
                              std::to_string(start_body_json.size()) + "\r\n\r\n" +
                              start_body_json;
    const auto r = raw_exchange(s.http_port(), bytes, 10s);
    REQUIRE(r);
    INFO(r->describe());
    check_error(*r, 415, "unsupported_media_type");
    CHECK(stream_ids(http, user).empty());
  }
  SECTION("JSON with parameters is served") {
    const auto r = http.request(http::verb::post, streams_path(user) + "?wait=true",
                                start_body_json,
                                {{"Content-Type", "Application/JSON; charset=utf-8"}});
    INFO(r.describe());
    CHECK(r.status == 201);
  }
  SECTION("a PATCH too") {
    const auto r = http.request(http::verb::patch, user_path(user), R"({"maxStreams":1})",
                                {{"Content-Type", "text/plain"}});
    INFO(r.describe());
    check_error(r, 415, "unsupported_media_type");
  }
}

TEST_CASE("state changes and WebSocket upgrades from a foreign Origin get 403",
          "[integration][cross-site]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  const std::string own_origin = "http://127.0.0.1:" + std::to_string(s.http_port());

  SECTION("a start from a foreign page starts nothing") {
    const auto r = http.request(http::verb::post, streams_path(user) + "?wait=true",
                                start_body_json, {{"Origin", "http://evil.example"}});
    INFO(r.describe());
    check_error(r, 403, "forbidden");
    CHECK(stream_ids(http, user).empty());
  }
  SECTION("a stop-all from a foreign page stops nothing") {
    REQUIRE(start(http, user, start_args{}).status == 201);
    const auto r = http.request(http::verb::delete_, streams_path(user), "",
                                {{"Origin", "http://127.0.0.1:1"}});
    INFO(r.describe());
    check_error(r, 403, "forbidden");
    CHECK(stream_ids(http, user).size() == 1);
  }
  SECTION("the api's own pages are served") {
    const auto r = http.request(http::verb::post, streams_path(user) + "?wait=true",
                                start_body_json, {{"Origin", own_origin}});
    INFO(r.describe());
    CHECK(r.status == 201);
  }
  SECTION("a foreign page may still read (CORS keeps the answer from it)") {
    const auto r = http.request(http::verb::get, user_path(user), "",
                                {{"Origin", "http://evil.example"}});
    INFO(r.describe());
    CHECK(r.status == 200);
  }
  SECTION("a WebSocket upgrade from a foreign page") {
    const auto r = raw_exchange(
        s.http_port(), upgrade_request(s.http_port(), user, "Origin: http://evil.example\r\n"), 10s);
    REQUIRE(r);
    INFO(r->describe());
    check_error(*r, 403, "forbidden");
  }
  SECTION("a WebSocket upgrade from the api's own page") {
    const auto r = raw_exchange(
        s.http_port(), upgrade_request(s.http_port(), user, "Origin: " + own_origin + "\r\n"), 10s);
    REQUIRE(r);
    INFO(r->describe());
    CHECK(r->status == 101);
  }
}

TEST_CASE("an api on loopback answers only for loopback host names (DNS rebinding)",
          "[integration][cross-site]") {
  stack s;
  const std::string port = std::to_string(s.http_port());
  SECTION("a rebound name is refused") {
    const auto host = GENERATE_COPY(as<std::string>{}, "evil.example:" + port, "evil.example",
                                    "localhost.evil.example:" + port, "10.1.2.3:" + port);
    CAPTURE(host);
    const auto r =
        raw_exchange(s.http_port(), "GET /api/v1/videos HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 10s);
    REQUIRE(r);
    INFO(r->describe());
    check_error(*r, 421, "misdirected_request");
  }
  SECTION("loopback names are served") {
    const auto host = GENERATE_COPY(as<std::string>{}, "127.0.0.1:" + port, "localhost:" + port,
                                    "LOCALHOST", "[::1]:" + port, "127.0.0.1");
    CAPTURE(host);
    const auto r =
        raw_exchange(s.http_port(), "GET /api/v1/videos HTTP/1.1\r\nHost: " + host + "\r\n\r\n", 10s);
    REQUIRE(r);
    INFO(r->describe());
    CHECK(r->status == 200);
  }
}

TEST_CASE("an --allowed-origin may drive the api from its pages", "[integration][cross-site]") {
  stack s(stack_options{}.api_args({"--allowed-origin", "https://app.example"}));
  http_client http(s.http_port());
  const auto user = create_user(http);
  const auto allowed = http.request(http::verb::post, streams_path(user) + "?wait=true",
                                    start_body_json, {{"Origin", "https://app.example"}});
  INFO(allowed.describe());
  CHECK(allowed.status == 201);
  const auto other = http.request(http::verb::post, streams_path(user) + "?wait=true",
                                  start_body_json, {{"Origin", "https://other.example"}});
  INFO(other.describe());
  check_error(other, 403, "forbidden");
  CHECK(stream_ids(http, user).size() == 1);
}
