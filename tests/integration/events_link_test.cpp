// An api whose requests reach its worker but whose events no longer do (its SUB's link held up
// by a relay): no verdict it relays could reach a socket, so it is not healthy and refuses
// WebSocket starts (docs/design.md §8). Asks no store: [link] runs once, on SQLite.

#include <catch2/catch.hpp>
#include <string>

#include "helpers.hpp"
#include "stack.hpp"
#include "tcp_relay.hpp"
#include "wait.hpp"
#include "ws_client.hpp"

using namespace streamgate::it;

TEST_CASE(
    "an api that no longer hears its worker's events is not healthy and refuses WebSocket "
    "starts",
    "[integration][link]") {
  // Its requests reach the worker and are answered, but the events stop coming: no verdict it
  // relays could reach a socket, so it must not pass for a working api.
  stack s(stack_options{}.link_relayed_to(0));
  http_client http(s.http_port());
  s.events_relay().pause();
  REQUIRE(wait_until([&] { return http.get("/health").status == 503; }, 20s));

  // The snapshot is a request and its reply: the socket opens.
  ws_client ws(s.http_port(), ws_client::target_for("alice"));
  read_snapshot(ws, "alice");
  ws.send_json(json::object({{"type", "start"},
                             {"videoId", std::string(video_1)},
                             {"sessionId", "deaf-dev"},
                             {"requestId", "deaf-req"}}));
  const auto refused = read_error_of(ws, "deaf-req");
  INFO(json::dump(refused));
  CHECK(json::str(refused["error"], "code") == "unavailable");
  CHECK(stream_ids(http, "alice").empty());
  s.events_relay().resume();
}
