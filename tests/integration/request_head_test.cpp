// The head of a request (RFC 9112; docs/design.md §5, api/http/request_head): a body framed any other
// way than by Content-Length or chunked alone is refused with 400 and the connection closed, so
// what follows it is never served as a request of its own (request smuggling); an HTTP/1.1
// request needs one valid Host; a target in absolute form is served by its path.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cctype>
#include <sstream>

#include "helpers.hpp"
#include "stack.hpp"

using namespace streamgate::it;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Would be answered 404 if it were ever read as a request.
const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

}  // namespace

TEST_CASE("a body framed by anything but Content-Length or chunked alone gets 400 and a close",
          "[integration][bad-input][smuggling]") {
  // HTTP/1.0 has no Transfer-Encoding (RFC 9112 §6.1): a chunked body there is refused too, even
  // from a client that asks to keep the connection.
  const auto [version, framing] = GENERATE(table<std::string, std::string>({
      {"HTTP/1.1", "Transfer-Encoding: xchunked\r\n"},
      {"HTTP/1.1", "Transfer-Encoding: chunked, identity\r\n"},
      {"HTTP/1.1", "Transfer-Encoding: gzip\r\n"},
      {"HTTP/1.1", "Transfer-Encoding: gzip, chunked\r\n"},
      {"HTTP/1.1", "Transfer-Encoding: gzip\r\nContent-Length: 2\r\n"},
      {"HTTP/1.1", "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n"},
      {"HTTP/1.1", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"},
      // Chunked twice (RFC 9112 §6.1 forbids it): a proxy that decodes it twice and an api that
      // decodes it once would each see another body.
      {"HTTP/1.1", "Transfer-Encoding: chunked, chunked\r\n"},
      {"HTTP/1.1", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"},
      // Chunked with a parameter, or with an empty element: chunked to Beast, maybe not to a
      // proxy in front.
      {"HTTP/1.1", "Transfer-Encoding: chunked;x=1\r\n"},
      {"HTTP/1.1", "Transfer-Encoding: chunked,\r\n"},
      {"HTTP/1.0", "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n"},
  }));
  CAPTURE(version, framing);
  stack s;
  const std::string bytes = "POST /api/v1/users " + version +
                            "\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + framing +
                            "\r\n" + smuggled;

  const pipelined_run run = pipeline_without_reading(s.http_port(), bytes, 10s);
  INFO("answers: " << run.answers.size() << ", ended by: " << run.ending);
  CHECK(run.closed_by_server);
  REQUIRE(run.answers.size() == 1);  // the smuggled request got no answer of its own
  const http_response& r = run.answers.front();
  INFO(r.describe());
  check_error(r, 400, "bad_request");
  CHECK_FALSE(r.keep_alive);
  const auto doc = json::try_parse(r.body);
  REQUIRE(doc.has_value());
  CHECK(lower(json::str((*doc)["error"], "message")).find("transfer") != std::string::npos);

  http_client fresh(s.http_port(), 5s);
  CHECK(fresh.get("/health").status == 200);
}

TEST_CASE("a chunked body alone is still read as one request", "[integration][smuggling]") {
  stack s;
  const std::string body = R"({"name":"Chunked"})";
  std::ostringstream bytes;
  bytes << "POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        << "Transfer-Encoding: chunked\r\n\r\n"
        << std::hex << body.size() << "\r\n"
        << body << "\r\n0\r\n\r\n"
        << smuggled;
  const pipelined_run run = pipeline_without_reading(s.http_port(), bytes.str(), 10s);
  INFO("answers: " << run.answers.size() << ", ended by: " << run.ending);
  REQUIRE(run.answers.size() == 2);
  CHECK(run.answers[0].status == 201);
  CHECK(run.answers[1].status == 404);  // pipelined after a well-framed body: a request of its own
}

TEST_CASE("an HTTP/1.1 request needs exactly one valid Host",
          "[integration][bad-input][smuggling]") {
  stack s;
  SECTION("refused") {
    const auto head = GENERATE(as<std::string>{}, "GET /health HTTP/1.1\r\n\r\n",
                               "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: 127.0.0.1\r\n\r\n",
                               "GET /health HTTP/1.1\r\nHost: user@127.0.0.1\r\n\r\n",
                               "GET /health HTTP/1.1\r\nHost: 127.0.0.1:port\r\n\r\n");
    CAPTURE(head);
    const auto r = raw_exchange(s.http_port(), head, 10s);
    REQUIRE(r);
    INFO(r->describe());
    check_error(*r, 400, "bad_request");
    const auto doc = json::try_parse(r->body);
    REQUIRE(doc.has_value());
    CHECK(lower(json::str((*doc)["error"], "message")).find("host") != std::string::npos);
  }
  SECTION("HTTP/1.0 may leave it out") {
    const auto r = raw_exchange(s.http_port(), "GET /health HTTP/1.0\r\n\r\n", 10s);
    REQUIRE(r);
    INFO(r->describe());
    CHECK(r->status == 200);
  }
}

TEST_CASE("a request target in absolute form is served by its path", "[integration][smuggling]") {
  stack s;
  const std::string authority = "127.0.0.1:" + std::to_string(s.http_port());
  SECTION("http") {
    const auto path = GENERATE(as<std::string>{}, "/health", "/api/v1/videos/v01");
    CAPTURE(path);
    const auto r = raw_exchange(
        s.http_port(), "GET http://" + authority + path + " HTTP/1.1\r\nHost: " + authority +
                           "\r\n\r\n",
        10s);
    REQUIRE(r);
    INFO(r->describe());
    CHECK(r->status == 200);
  }
  SECTION("its authority, not the Host header, names the server") {
    // A loopback api answers only for loopback names (cross_site_guard): the target's authority
    // decides, whatever Host came with it (RFC 9112 §3.2.2).
    const auto to_us = raw_exchange(
        s.http_port(), "GET http://" + authority + "/health HTTP/1.1\r\nHost: example.com\r\n\r\n",
        10s);
    REQUIRE(to_us);
    INFO(to_us->describe());
    CHECK(to_us->status == 200);
    const auto elsewhere = raw_exchange(
        s.http_port(), "GET http://example.com/health HTTP/1.1\r\nHost: " + authority + "\r\n\r\n",
        10s);
    REQUIRE(elsewhere);
    INFO(elsewhere->describe());
    check_error(*elsewhere, 421, "misdirected_request");
  }
  SECTION("another scheme, or no authority, is refused") {
    const auto target = GENERATE_COPY(as<std::string>{}, "ftp://" + authority + "/health",
                                      "http:/health", "http://user@" + authority + "/health");
    CAPTURE(target);
    const auto r =
        raw_exchange(s.http_port(), "GET " + target + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n",
                     10s);
    REQUIRE(r);
    INFO(r->describe());
    check_error(*r, 400, "bad_request");
  }
}

TEST_CASE("a body behind Expect: 100-continue is asked for only when it will be read",
          "[integration][rest]") {
  // A strict client sends the body only after the 100 (Continue); curl waits a second for it.
  stack s;
  const std::string body = R"({"name":"Patient"})";
  const auto head = [&](std::size_t length) {
    return "POST /api/v1/users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Expect: 100-continue\r\nContent-Length: " +
           std::to_string(length) + "\r\n\r\n";
  };
  SECTION("a body within the limit") {
    const continued_exchange run = exchange_with_continue(s.http_port(), head(body.size()), body);
    INFO(run.answer.describe());
    CHECK(run.interim_status == 100);
    CHECK(run.answer.status == 201);
  }
  SECTION("a body over 16 KiB is refused from its head, before it is sent") {
    const continued_exchange run = exchange_with_continue(s.http_port(), head(20 * 1024), "");
    INFO(run.answer.describe());
    CHECK(run.interim_status == 0);
    check_error(run.answer, 413, "payload_too_large");
  }
}
