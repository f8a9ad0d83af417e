// Leases (docs/design.md §2): a stream that is not heart-beaten ends by itself, with an `ended`
// push of reason expired; heartbeats keep a stream alive. The worker runs with 1 s leases.

#include <catch2/catch.hpp>

#include "helpers.hpp"
#include "stack.hpp"

using namespace streamgate::it;

TEST_CASE("a stream that is not heart-beaten expires with an ended push", "[integration][lease]") {
  stack s(stack_options{}.lease_seconds(1));
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  const auto r = start(http, user, start_args{}.session("forgotten"));
  INFO(r.describe());
  REQUIRE(r.status == 201);
  const auto stream_id = json::str(r.json()["stream"], "streamId");
  const auto started = json::parse_iso8601_ms(json::str(r.json()["stream"], "startedAt"));
  const auto expires = json::parse_iso8601_ms(json::str(r.json()["stream"], "expiresAt"));
  REQUIRE(started.has_value());
  REQUIRE(expires.has_value());
  // The lease is the configured second (a little slack for rounding).
  CHECK(*expires - *started >= 900);
  CHECK(*expires - *started <= 1100);

  // Generous: the worker may sweep leases coarsely; what matters is that the push comes.
  const auto ended = read_ended(ws, stream_id, 20s);
  INFO("ended: " << json::dump(ended));
  CHECK(json::str(ended, "reason") == "expired");
  CHECK(json::str(ended, "userId") == user);
  CHECK(stream_ids(http, user).empty());
  check_error(http.post(heartbeat_path(user, stream_id), ""), 404, "not_found");
}

TEST_CASE("heartbeats keep a stream alive while an unbeaten sibling expires",
          "[integration][lease]") {
  stack s(stack_options{}.lease_seconds(1));
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);

  const auto kept = start(http, user, start_args{}.session("kept"));
  const auto dropped = start(http, user, start_args{}.session("dropped"));
  INFO(kept.describe() << "\n" << dropped.describe());
  REQUIRE(kept.status == 201);
  REQUIRE(dropped.status == 201);
  const auto kept_id = json::str(kept.json()["stream"], "streamId");
  const auto dropped_id = json::str(dropped.json()["stream"], "streamId");
  auto kept_expires = json::parse_iso8601_ms(json::str(kept.json()["stream"], "expiresAt"));
  REQUIRE(kept_expires.has_value());

  // Beat the kept stream whenever less than 600 ms of its lease is left, until the other one's
  // expiry is pushed; the kept one must never end meanwhile.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  int beats = 0;
  bool dropped_ended = false;
  while (!dropped_ended) {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    if (*kept_expires - wall_ms_now() < 600) {
      const auto beat = http.post(heartbeat_path(user, kept_id), "");
      INFO("heartbeat " << beats + 1 << ": " << beat.describe());
      REQUIRE(beat.status == 200);
      kept_expires = json::parse_iso8601_ms(json::str(beat.json(), "expiresAt"));
      REQUIRE(kept_expires.has_value());
      ++beats;
    }
    if (const auto m = ws.try_read_json(100ms)) {
      INFO("event: " << json::dump(*m));
      if (json::str(*m, "type") != "ended") continue;
      REQUIRE(json::str(*m, "streamId") == dropped_id);
      CHECK(json::str(*m, "reason") == "expired");
      dropped_ended = true;
    }
  }
  CHECK(stream_ids(http, user) == std::vector<std::string>{kept_id});

  // Keep it alive past two more leases: still listed, still no ended push for it.
  const auto until = std::chrono::steady_clock::now() + 2500ms;
  while (std::chrono::steady_clock::now() < until) {
    if (*kept_expires - wall_ms_now() < 600) {
      const auto beat = http.post(heartbeat_path(user, kept_id), "");
      INFO(beat.describe());
      REQUIRE(beat.status == 200);
      kept_expires = json::parse_iso8601_ms(json::str(beat.json(), "expiresAt"));
      REQUIRE(kept_expires.has_value());
      ++beats;
    }
    if (const auto m = ws.try_read_json(100ms)) FAIL("unexpected event: " << json::dump(*m));
  }
  CHECK(beats >= 2);
  CHECK(stream_ids(http, user) == std::vector<std::string>{kept_id});
}

TEST_CASE("an expired stream frees its slot", "[integration][lease]") {
  stack s(stack_options{}.lease_seconds(1));
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);
  std::vector<std::string> ids;
  for (const char* session : {"a", "b", "c"}) {
    const auto r = start(http, user, start_args{}.session(session));
    REQUIRE(r.status == 201);
    ids.push_back(json::str(r.json()["stream"], "streamId"));
  }
  for (const auto& id : ids) read_ended(ws, id, 20s);
  CHECK(start(http, user, start_args{}.session("d")).status == 201);
}
