// The framing rules of api/http/request_head (docs/design.md §5) on heads built here rather than
// parsed. Beast's parser already refuses a Content-Length beside a chunked Transfer-Encoding,
// whichever comes first (boost/beast/http/impl/basic_parser.ipp, Boost 1.81), so no request on a
// socket reaches this rule: only a head made by hand shows that the api refuses it as well, and
// keeps refusing it whatever the parser in front of it lets through.

#include "api/http/request_head.hpp"

#include <catch2/catch.hpp>
#include <string>

namespace http = boost::beast::http;
using streamgate::check_request_head;
using streamgate::error_code;
using streamgate::request_head;

namespace {

request_head chunked_post(unsigned version) {
  request_head head;
  head.method(http::verb::post);
  head.target("/api/v1/users");
  head.version(version);
  head.set(http::field::host, "127.0.0.1");
  head.set(http::field::transfer_encoding, "chunked");
  return head;
}

}  // namespace

TEST_CASE("a chunked head is refused beside a Content-Length and in HTTP/1.0",
          "[unit][request_head]") {
  SECTION("HTTP/1.1, chunked alone: accepted") {
    request_head head = chunked_post(11);
    CHECK_FALSE(check_request_head(head).has_value());
  }
  SECTION("HTTP/1.1 with a Content-Length as well") {
    request_head head = chunked_post(11);
    head.set(http::field::content_length, "2");
    const auto refused = check_request_head(head);
    REQUIRE(refused.has_value());
    CHECK(refused->code == error_code::bad_request);
    CHECK(refused->message.find("Content-Length") != std::string::npos);
  }
  SECTION("HTTP/1.0") {
    request_head head = chunked_post(10);
    const auto refused = check_request_head(head);
    REQUIRE(refused.has_value());
    CHECK(refused->code == error_code::bad_request);
    CHECK(refused->message.find("HTTP/1.0") != std::string::npos);
  }
}
