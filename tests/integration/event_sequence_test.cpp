// A user's events are numbered, and a WebSocket that may have missed some is sent a fresh
// snapshot without reconnecting (issue 3: "an api that sees a gap, or reconnects to a worker,
// refreshes that user's state and sends the user's WebSockets a fresh snapshot").

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "stack.hpp"

using namespace streamgate::it;

namespace {

std::uint64_t seq_of(const json::value& message) {
  INFO(json::dump(message));
  REQUIRE(message.HasMember("seq"));
  REQUIRE(message["seq"].IsUint64());
  return message["seq"].GetUint64();
}

bool lists_stream(const json::value& snapshot, const std::string& stream_id) {
  for (const auto& s : snapshot["streams"].GetArray())
    if (json::str(s, "streamId") == stream_id) return true;
  return false;
}

}  // namespace

TEST_CASE("a user's events follow the snapshot's sequence number one by one",
          "[integration][websocket]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  // An event before the socket opens: the snapshot reflects it.
  REQUIRE(start(http, user, start_args{}.session("before")).status == 201);

  ws_client ws(s.http_port(), ws_client::target_for(user));
  const auto snapshot = read_snapshot(ws, user);
  CHECK(json::has_string(snapshot, "epoch"));
  const std::uint64_t reflected = seq_of(snapshot);
  CHECK(reflected >= 1);

  const auto started = start(http, user, start_args{}.session("after").request("seq-r1"));
  REQUIRE(started.status == 201);
  const auto verdict = read_verdict(ws, "seq-r1");
  CHECK(seq_of(verdict) == reflected + 1);

  const std::string stream_id = json::str(started.json()["stream"], "streamId");
  REQUIRE(http.del(stream_path(user, stream_id)).status == 204);
  CHECK(seq_of(read_ended(ws, stream_id)) == reflected + 2);
}

TEST_CASE("after kill -9 of the worker an open WebSocket gets a fresh snapshot without reconnecting",
          "[integration][websocket][crash]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  const auto started = start(http, user, start_args{}.session("tv").request("resync-r1"));
  REQUIRE(started.status == 201);
  const std::string stream_id = json::str(started.json()["stream"], "streamId");
  read_verdict(ws, "resync-r1");

  // Whatever the worker published while it was gone, or decided and never published, the
  // socket is brought back to the stored truth.
  s.kill9_worker();
  s.start_worker();
  s.wait_healthy();
  const auto fresh = ws.read_until(of_type("snapshot"), 20s, "a snapshot after the restart");
  CHECK(lists_stream(fresh, stream_id));
  CHECK_FALSE(ws.closed_by_server());

  // And the socket goes on with the events that follow.
  REQUIRE(http.del(stream_path(user, stream_id)).status == 204);
  read_ended(ws, stream_id);
}
