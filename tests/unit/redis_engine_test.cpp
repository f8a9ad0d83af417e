// The Redis engine against a real redis-server on a free loopback port (started per test case,
// its data in the test's temp dir): the Lua scripts, the pipelining and the lease index are
// tested on the real thing.

#include "worker/redis_engine.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../integration/redis_server.hpp"
#include "../integration/wait.hpp"
#include "temp_dir.hpp"
#include "worker/redis_client.hpp"

using namespace streamgate;
using namespace std::chrono_literals;

namespace {

// One redis-server and a catalog of two videos and one user for the test case.
class redis_fixture {
 public:
  redis_fixture() : server_(dir_.path() / "redis") {
    std::ofstream(catalog()) << R"({"users":[{"id":"alice","name":"Alice"}],)"
                             << R"("videos":[{"id":"v1","title":"One","durationSeconds":60},)"
                             << R"({"id":"v2","title":"Two","durationSeconds":60}]})";
  }

  std::filesystem::path catalog() const { return dir_.path() / "catalog.json"; }
  redis_address address() const { return {"127.0.0.1", server_.port()}; }

  std::unique_ptr<redis_engine> engine(std::chrono::milliseconds lease = 90s) {
    redis_engine_options options;
    options.limits.lease = lease;
    auto opened = redis_engine::open(address(), options, catalog());
    REQUIRE(opened.has_value());
    return std::move(*opened);
  }

 private:
  test::temp_dir dir_;
  it::redis_server server_;
};

struct batch_result {
  std::vector<reply> replies;
  std::vector<published_event> events;
};

batch_result decide(redis_engine& engine, std::vector<request_body> requests) {
  batch_result out;
  engine.decide_batch(requests, out.replies, out.events);
  REQUIRE(out.replies.size() == requests.size());
  return out;
}

start_request start_of(std::string request_id, std::string user = "alice",
                       std::string session = "") {
  return {std::move(request_id), std::move(user), "v1", std::move(session)};
}

int count_containing(const std::vector<published_event>& events, const std::string& needle) {
  int n = 0;
  for (const auto& e : events)
    if (e.body.find(needle) != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("a fourth start for one user in one pipelined batch is denied by the redis engine",
          "[redis]") {
  redis_fixture redis;
  auto engine = redis.engine();
  const auto out =
      decide(*engine, {start_of("r1"), start_of("r2"), start_of("r3"), start_of("r4")});
  CHECK(out.replies[0].status == outcome::allowed);
  CHECK(out.replies[1].status == outcome::allowed);
  CHECK(out.replies[2].status == outcome::allowed);
  CHECK(out.replies[3].status == outcome::denied);
  CHECK(out.replies[3].body.find("limit_reached") != std::string::npos);
  REQUIRE(out.events.size() == 4);
  // One sequence per user, in decision order, under the dataset's epoch.
  for (std::size_t i = 0; i < out.events.size(); ++i) {
    CHECK(out.events[i].topic == "alice");
    CHECK(out.events[i].sequence == engine->epoch() + ' ' + std::to_string(i + 1));
  }
}

TEST_CASE("a requestId decided by one engine is replayed by another, not decided again",
          "[redis]") {
  redis_fixture redis;
  auto first = redis.engine();
  auto second = redis.engine();
  const auto decided = decide(*first, {start_of("r1", "alice", "tv")});
  REQUIRE(decided.replies[0].status == outcome::allowed);
  const auto replayed = decide(*second, {start_of("r1", "alice", "tv")});
  CHECK(replayed.replies[0].status == outcome::allowed);
  CHECK(replayed.replies[0].body == decided.replies[0].body);
  const auto listed = decide(*second, {list_streams_request{"alice"}});
  CHECK(listed.replies[0].body.find(R"("sessionId":"tv")") != std::string::npos);
  const std::string& body = listed.replies[0].body;
  CHECK(body.find("streamId") == body.rfind("streamId"));  // one stream
}

TEST_CASE("a requestId already used by another user is refused with conflict", "[redis]") {
  redis_fixture redis;
  auto engine = redis.engine();
  REQUIRE(decide(*engine, {create_user_request{"bob", "Bob", {}, {}, {}}}).replies[0].status ==
          outcome::created);
  REQUIRE(decide(*engine, {start_of("shared")}).replies[0].status == outcome::allowed);
  const auto other = decide(*engine, {start_of("shared", "bob")});
  CHECK(other.replies[0].status == outcome::conflict);
  CHECK(other.events.empty());
  CHECK(decide(*engine, {list_streams_request{"bob"}}).replies[0].body == "[]");
}

TEST_CASE("a lapsed lease is ended exactly once when two engines expire it", "[redis]") {
  redis_fixture redis;
  auto first = redis.engine(300ms);
  auto second = redis.engine(300ms);
  const auto started = decide(*first, {start_of("r1")});
  REQUIRE(started.replies[0].status == outcome::allowed);

  int ended = 0;
  int rounds_after = 0;
  // Both engines run their expiry until the end was published and a few rounds more, so a
  // second publication would have had its chance.
  const bool done = it::wait_until(
      [&] {
        for (redis_engine* e : {first.get(), second.get()})
          ended += count_containing(decide(*e, {}).events, R"("reason":"expired")");
        if (ended > 0) ++rounds_after;
        return rounds_after >= 5;
      },
      10s, 20ms);
  REQUIRE(done);
  CHECK(ended == 1);
  CHECK(decide(*first, {list_streams_request{"alice"}}).replies[0].body == "[]");
}

TEST_CASE("a start does not count a lease that lapsed by Redis's clock", "[redis]") {
  redis_fixture redis;
  auto engine = redis.engine(200ms);
  REQUIRE(decide(*engine, {start_of("a"), start_of("b"), start_of("c")}).replies[2].status ==
          outcome::allowed);
  // Once the leases lapsed, a start ends them (with their events) and is allowed.
  int attempts = 0;
  int expired = 0;
  const bool allowed = it::wait_until(
      [&] {
        const auto later = decide(*engine, {start_of("d" + std::to_string(++attempts))});
        expired += count_containing(later.events, R"("reason":"expired")");
        return later.replies[0].status == outcome::allowed;
      },
      10s, 50ms);
  CHECK(allowed);
  CHECK(expired == 3);
}

TEST_CASE("the redis engine loads its scripts again after Redis lost them", "[redis]") {
  redis_fixture redis;
  auto engine = redis.engine();
  redis_client admin(redis.address(), 2s);
  REQUIRE(reply_string(*admin.command({"SCRIPT", "FLUSH"})) == "OK");
  const auto out = decide(*engine, {start_of("after-flush"), get_user_request{"alice"}});
  CHECK(out.replies[0].status == outcome::allowed);
  CHECK(out.replies[1].status == outcome::ok);
  CHECK(out.replies[1].body.find(R"("activeStreams":1)") != std::string::npos);
}

TEST_CASE("heartbeat, stop, stop-all and the unknown cases answer as the embedded engine does",
          "[redis]") {
  redis_fixture redis;
  auto engine = redis.engine();
  const auto started = decide(*engine, {start_of("r1", "alice", "tv"), start_of("r2")});
  const auto stream_of = [](const std::string& body) {
    const auto at = body.find(R"("streamId":")") + 12;
    return body.substr(at, body.find('"', at) - at);
  };
  const std::string s1 = stream_of(started.replies[0].body);
  const auto out =
      decide(*engine,
             {heartbeat_request{"alice", s1}, stop_request{"alice", s1}, stop_request{"alice", s1},
              heartbeat_request{"bob", s1}, stop_all_request{"alice"}, stop_all_request{"nobody"},
              start_request{"r3", "alice", "nope", ""}, start_request{"r4", "nobody", "v1", ""},
              get_video_request{"v2"}, list_videos_request{}});
  CHECK(out.replies[0].status == outcome::ok);
  CHECK(out.replies[0].body.find("expiresAt") != std::string::npos);
  CHECK(out.replies[1].status == outcome::no_content);
  CHECK(out.replies[2].status == outcome::not_found);
  CHECK(out.replies[3].status == outcome::not_found);
  CHECK(out.replies[4].status == outcome::no_content);
  CHECK(out.replies[5].status == outcome::not_found);
  CHECK(out.replies[6].status == outcome::not_found);  // unknown video
  CHECK(out.replies[7].status == outcome::not_found);  // unknown user
  CHECK(out.replies[8].body == R"({"id":"v2","title":"Two","durationSeconds":60})");
  CHECK(out.replies[9].body.find(R"("id":"v1")") < out.replies[9].body.find(R"("id":"v2")"));
  CHECK(count_containing(out.events, R"("reason":"stopped")") == 1);
  CHECK(count_containing(out.events, R"("reason":"stop_all")") == 1);
}

TEST_CASE("the live stream total is the shared store's, whichever engine decided",
          "[redis][metrics]") {
  redis_fixture redis;
  auto a = redis.engine();
  auto b = redis.engine();
  CHECK(a->active_streams() == 0u);
  decide(*a, {start_of("r1"), start_of("r2")});
  decide(*b, {start_of("r3"), start_of("r4")});  // the fourth is denied
  // The total is kept with the lease index, which a batch updates for the one before it.
  decide(*a, {});
  decide(*b, {});
  CHECK(a->active_streams() == 3u);
  CHECK(b->active_streams() == 3u);

  decide(*b, {stop_all_request{"alice"}});
  decide(*b, {});
  CHECK(a->active_streams() == 0u);
}
