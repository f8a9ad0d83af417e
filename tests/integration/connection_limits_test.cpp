// Connection limits (docs/design.md §5, "slow or idle client" and its neighbours): a cap on open
// connections (--max-connections) and on the requests one connection is served, so neither a
// crowd of idle clients nor one client pipelining thousands of requests can take the api's
// descriptors or memory, and everyone else keeps getting answers.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"
#include "ws_client.hpp"

using namespace streamgate::it;

namespace {

// The api's per-connection request cap (api/http/http_limits.hpp).
constexpr int requests_per_connection = 1000;

const std::string health_request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// A new keep-alive connection that the api let in: one that got a 200 for GET /health. While
// an earlier connection's slot is still being released, a new one may get the 503 instead, so
// this retries on a new connection until one is let in.
std::unique_ptr<http_client> admitted_client(unsigned short port) {
  std::unique_ptr<http_client> client;
  std::string last;
  const bool admitted = wait_until(
      [&] {
        client = std::make_unique<http_client>(port);
        client->connect();
        const auto r = client->request_on_same_connection(http::verb::get, "/health");
        last = r ? r->describe() : "closed without an answer";
        return r && r->status == 200 && r->keep_alive;
      },
      20s);
  INFO("last answer: " << last);
  REQUIRE(admitted);
  return client;
}

std::unique_ptr<ws_client> admitted_websocket(unsigned short port, const std::string& user) {
  std::unique_ptr<ws_client> ws;
  std::string last;
  const bool admitted = wait_until(
      [&] {
        try {
          ws = std::make_unique<ws_client>(port, ws_client::target_for(user));
          return true;
        } catch (const std::exception& e) {
          last = e.what();
          return false;
        }
      },
      20s);
  INFO("last failure: " << last);
  REQUIRE(admitted);
  read_snapshot(*ws, user);
  return ws;
}

// The status a new connection's GET /health gets; 0 when it was closed without one.
int status_of_a_new_connection(unsigned short port) {
  const auto r = raw_exchange(port, health_request);
  return r ? r->status : 0;
}

// GET /health on a new connection from the local address `source` (127.0.0.2: another client
// address of this machine): the answer, or none when the server closed without one.
struct sourced_answer {
  int status = 0;
  std::string body;
  std::string retry_after;
};
std::optional<sourced_answer> health_from(const std::string& source, unsigned short port) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.socket().open(asio::ip::tcp::v4());
  stream.socket().bind({asio::ip::make_address(source), 0});
  http::request<http::string_body> request{http::verb::get, "/health", 11};
  request.set(http::field::host, "127.0.0.1");
  http::response<http::string_body> response;
  beast::flat_buffer buffer;
  bool answered = false;
  stream.expires_after(10s);
  stream.async_connect({asio::ip::make_address("127.0.0.1"), port}, [&](beast::error_code ec) {
    if (ec) return;
    http::async_write(stream, request, [&](beast::error_code wec, std::size_t) {
      if (wec) return;
      http::async_read(stream, buffer, response, [&](beast::error_code rec, std::size_t) {
        answered = !rec;
      });
    });
  });
  ioc.run();
  if (!answered) return std::nullopt;
  return sourced_answer{static_cast<int>(response.result_int()), response.body(),
                        std::string(response[http::field::retry_after])};
}

}  // namespace

TEST_CASE("past --max-connections a new connection gets 503 and a freed slot lets the next in",
          "[integration][limits]") {
  stack s(stack_options{}.api_args({"--max-connections", "3"}));
  const auto user = [&] {
    http_client setup(s.http_port());
    return create_user(setup);
  }();

  // Three connections of both kinds hold the three slots.
  auto first = admitted_client(s.http_port());
  auto second = admitted_client(s.http_port());
  auto ws = admitted_websocket(s.http_port(), user);

  SECTION("a fourth connection is answered 503 at once and closed") {
    const auto refused = raw_exchange(s.http_port(), health_request);
    REQUIRE(refused);
    INFO(refused->describe());
    check_error(*refused, 503, "unavailable");
    CHECK(refused->header("Retry-After") == "1");
    CHECK_FALSE(refused->keep_alive);

    // The connections let in are served as before.
    const auto still = first->request_on_same_connection(http::verb::get, "/health");
    REQUIRE(still);
    CHECK(still->status == 200);
  }
  SECTION("closing an HTTP connection frees its slot") {
    second->close();
    auto next = admitted_client(s.http_port());
    CHECK(status_of_a_new_connection(s.http_port()) == 503);
  }
  SECTION("closing a WebSocket frees its slot") {
    ws.reset();
    auto next = admitted_client(s.http_port());
    CHECK(status_of_a_new_connection(s.http_port()) == 503);
  }
}

TEST_CASE("10,000 pipelined requests get at most the per-connection cap of answers, then a close",
          "[integration][limits]") {
  stack s;
  std::string burst;
  constexpr int pipelined = 10000;
  burst.reserve(health_request.size() * pipelined);
  for (int i = 0; i < pipelined; ++i) burst += health_request;

  const pipelined_run run = pipeline_without_reading(s.http_port(), burst);
  INFO("answers: " << run.answers.size() << ", ended by: " << run.ending);
  CHECK(run.closed_by_server);
  // One at a time, each written before the next request is read, and no more than the cap.
  REQUIRE(run.answers.size() == static_cast<std::size_t>(requests_per_connection));
  for (std::size_t i = 0; i < run.answers.size(); ++i) {
    CAPTURE(i);
    if (run.answers[i].status != 200) FAIL_CHECK(run.answers[i].describe());
  }
  CHECK_FALSE(run.answers.back().keep_alive);
  CHECK(run.answers[run.answers.size() - 2].keep_alive);

  // The api is unaffected: a new connection is served.
  http_client http(s.http_port());
  CHECK(http.get("/health").status == 200);
}

// Hardening (a black-box probe): one user's WebSockets could take every connection slot.
TEST_CASE("one user's WebSockets past --max-websockets-per-user get 429 while others still connect",
          "[integration][connection]") {
  stack s(stack_options{}.api_args({"--max-websockets-per-user", "2"}));
  http_client http(s.http_port());
  const auto user = create_user(http);
  const auto other = create_user(http);
  std::vector<std::unique_ptr<ws_client>> open;
  for (int i = 0; i < 2; ++i)
    open.push_back(std::make_unique<ws_client>(s.http_port(), ws_client::target_for(user)));
  try {
    ws_client third(s.http_port(), ws_client::target_for(user));
    FAIL("a third WebSocket of the user was let in");
  } catch (const ws_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("429"));
  }
  ws_client someone_else(s.http_port(), ws_client::target_for(other));
  read_snapshot(someone_else, other);

  // A socket closed frees its place.
  open.pop_back();
  CHECK(wait_until(
      [&] {
        try {
          ws_client again(s.http_port(), ws_client::target_for(user));
          return true;
        } catch (const ws_error&) {
          return false;
        }
      },
      10s));
}

// Hardening (a black-box probe): idle anonymous sockets held every slot for 30 s at a time.
TEST_CASE("a connection that sends no request is closed at the first-request deadline",
          "[integration][limits]") {
  stack s(stack_options{}.api_args({"--max-connections", "2"}));
  http_client idle_one(s.http_port());
  http_client idle_two(s.http_port());
  idle_one.connect();
  idle_two.connect();
  // Both slots are held by connections that never send anything...
  REQUIRE(wait_until([&] { return status_of_a_new_connection(s.http_port()) == 503; }, 4s));
  // ...until the deadline of a first request (seconds, not the 30 s a kept-alive connection may
  // wait for its next request): then a new connection is let in, well before those 30 s.
  auto next = admitted_client(s.http_port());
  CHECK_FALSE(idle_one.request_on_same_connection(http::verb::get, "/health"));
  CHECK_FALSE(idle_two.request_on_same_connection(http::verb::get, "/health"));
}

// Hardening (a black-box probe): one client could take every connection slot.
TEST_CASE("past --max-connections-per-address a new connection from that address gets 503 while "
          "other addresses still connect",
          "[integration][limits]") {
  stack s(stack_options{}.api_args({"--max-connections-per-address", "2"}));
  const auto user = [&] {
    http_client setup(s.http_port());
    return create_user(setup);
  }();

  // One HTTP connection and one WebSocket from 127.0.0.1 hold that address's two places.
  auto http_one = admitted_client(s.http_port());
  auto ws = admitted_websocket(s.http_port(), user);

  SECTION("a third connection from 127.0.0.1 is answered 503 too_many_connections and closed") {
    const auto refused = raw_exchange(s.http_port(), health_request);
    REQUIRE(refused);
    INFO(refused->describe());
    check_error(*refused, 503, "too_many_connections");
    CHECK_THAT(refused->body, Catch::Contains("--max-connections-per-address"));
    CHECK(refused->header("Retry-After") == "1");
    CHECK_FALSE(refused->keep_alive);
    // The connections let in are served as before.
    const auto still = http_one->request_on_same_connection(http::verb::get, "/health");
    REQUIRE(still);
    CHECK(still->status == 200);
  }
  SECTION("another client address is let in") {
    const auto other = health_from("127.0.0.2", s.http_port());
    REQUIRE(other);
    CHECK(other->status == 200);
  }
  SECTION("closing the WebSocket frees its place for the next connection from the address") {
    ws.reset();
    auto next = admitted_client(s.http_port());
    CHECK(status_of_a_new_connection(s.http_port()) == 503);
  }
  SECTION("closing the HTTP connection frees its place") {
    http_one->close();
    auto next = admitted_client(s.http_port());
    CHECK(status_of_a_new_connection(s.http_port()) == 503);
  }
}
