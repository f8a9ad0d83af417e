// The web UI's files (api/routes/static_files, api/routes/static_headers; docs/design.md §6): HEAD
// answers like GET without a body (as it does on every GET route of the api), and every static
// answer tells the browser not to guess its type and what the page may load and reach.

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "stack.hpp"

using namespace streamgate::it;

TEST_CASE("HEAD of a static file or a GET route answers like GET, without a body",
          "[integration][static]") {
  stack s;
  http_client http(s.http_port());
  const auto path = GENERATE(as<std::string>{}, "/", "/js/app.js", "/css/app.css", "/health",
                             "/api/v1/plans", "/api/v1/videos/v01");
  CAPTURE(path);

  const auto got = http.get(path);
  REQUIRE(got.status == 200);
  REQUIRE_FALSE(got.body.empty());
  const auto head = http.request(http::verb::head, path);
  INFO(head.describe());
  CHECK(head.status == 200);
  CHECK(head.header("Content-Type") == got.header("Content-Type"));
  CHECK(head.header("Content-Length") == std::to_string(got.body.size()));
  CHECK(head.body.empty());
  // Had a body followed the head, it would be read as the start of this answer.
  const auto next = http.request_on_same_connection(http::verb::get, "/health");
  REQUIRE(next);
  CHECK(next->status == 200);
  CHECK(next->json().IsObject());
}

TEST_CASE("HEAD of a missing file is 404 without a body", "[integration][static]") {
  stack s;
  http_client http(s.http_port());
  const auto head = http.request(http::verb::head, "/no-such-file.js");
  INFO(head.describe());
  CHECK(head.status == 404);
  const auto next = http.request_on_same_connection(http::verb::get, "/health");
  REQUIRE(next);
  CHECK(next->status == 200);
}

TEST_CASE("static answers say nosniff and carry the web UI's content security policy",
          "[integration][static]") {
  stack s;
  http_client http(s.http_port());
  const auto path = GENERATE(as<std::string>{}, "/", "/js/app.js", "/no-such-file.js");
  CAPTURE(path);
  const auto r = http.get(path);
  INFO(r.describe());
  CHECK(r.header("X-Content-Type-Options") == "nosniff");
  const std::string policy = r.header("Content-Security-Policy");
  CAPTURE(policy);
  for (const std::string directive :
       {"default-src 'self'", "script-src 'self';", "style-src 'self';", "connect-src 'self';",
        "media-src 'self' blob:", "worker-src 'self' blob:", "object-src 'none'",
        "frame-ancestors 'none'"}) {
    CAPTURE(directive);
    CHECK(policy.find(directive) != std::string::npos);
  }
}
