// The end of a stream (docs/design.md §2, §4): a stop, a stop of all and an eviction end
// streams with an `ended` push, and free their slots.

#include <catch2/catch.hpp>
#include <set>

#include "helpers.hpp"
#include "stack.hpp"

using namespace streamgate::it;

namespace {

// Starts `count` streams of `user` (201 required) and returns their ids, oldest first.
std::vector<std::string> fill(http_client& http, const std::string& user, int count) {
  std::vector<std::string> ids;
  for (int i = 0; i < count; ++i) {
    const auto r = start(http, user, start_args{}.session("fill-" + std::to_string(i)));
    INFO(r.describe());
    REQUIRE(r.status == 201);
    ids.push_back(json::str(r.json()["stream"], "streamId"));
  }
  return ids;
}

}  // namespace

TEST_CASE("stopping a stream pushes ended with reason stopped and frees its slot",
          "[integration][lifecycle]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);
  const auto ids = fill(http, user, 3);
  REQUIRE(start(http, user, start_args{}.session("one-too-many")).status == 429);

  const auto r = http.del(stream_path(user, ids[1]));
  INFO(r.describe());
  REQUIRE(r.status == 204);
  const auto ended = read_ended(ws, ids[1]);
  INFO("ended: " << json::dump(ended));
  CHECK(json::str(ended, "userId") == user);
  CHECK(json::str(ended, "reason") == "stopped");

  const auto again = start(http, user, start_args{}.session("one-too-many"));
  INFO(again.describe());
  CHECK(again.status == 201);
  CHECK(stream_ids(http, user).size() == 3);
}

TEST_CASE("stopping all streams of a user pushes ended stop_all for each and leaves none",
          "[integration][lifecycle]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  const auto other = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);
  const auto ids = fill(http, user, 3);
  const auto others = fill(http, other, 1);

  const auto r = http.del(streams_path(user));
  INFO(r.describe());
  REQUIRE(r.status == 204);
  CHECK(r.body.empty());

  std::set<std::string> ended;
  while (ended.size() < 3) {
    const auto m = ws.read_until(of_type("ended"), 10s, "three ended events");
    INFO("ended: " << json::dump(m));
    CHECK(json::str(m, "reason") == "stop_all");
    CHECK(json::str(m, "userId") == user);
    ended.insert(json::str(m, "streamId"));
  }
  CHECK(ended == std::set<std::string>(ids.begin(), ids.end()));
  CHECK(stream_ids(http, user).empty());
  const auto u = http.get(user_path(user));
  REQUIRE(u.status == 200);
  CHECK(json::integer(u.json(), "activeStreams") == 0);
  // Another user's streams are untouched, and the user can start again.
  CHECK(stream_ids(http, other) == others);
  CHECK(start(http, user, start_args{}.session("after")).status == 201);
}

TEST_CASE("stopping all streams of a user without streams answers 204",
          "[integration][lifecycle]") {
  stack s;
  http_client http(s.http_port());
  const auto user = create_user(http);
  CHECK(http.del(streams_path(user)).status == 204);
}

TEST_CASE("with the evict_oldest policy a start at the limit ends the oldest stream",
          "[integration][lifecycle]") {
  stack s(stack_options{}.worker_args({"--policy", "evict_oldest"}));
  http_client http(s.http_port());
  const auto user = create_user(http);
  ws_client ws(s.http_port(), ws_client::target_for(user));
  read_snapshot(ws, user);
  const auto ids = fill(http, user, 3);

  const auto r = start(http, user, start_args{}.session("newest").request("evicting"));
  INFO(r.describe());
  REQUIRE(r.status == 201);
  const auto newest = json::str(r.json()["stream"], "streamId");
  const auto ended = read_ended(ws, ids[0]);
  CHECK(json::str(ended, "reason") == "evicted");
  const auto listed = stream_ids(http, user);
  CHECK(std::set<std::string>(listed.begin(), listed.end()) ==
        std::set<std::string>{ids[1], ids[2], newest});
}
