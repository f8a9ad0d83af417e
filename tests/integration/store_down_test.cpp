// A shared store that fails under a running worker (docs/design.md §8, the worker's failure rule):
// Redis down or hung gets each batch a 503 at once that names the store, and the worker decides
// again once Redis is back; one Cluster master down or hung, only its users' requests
// (docs/design.md §8, "A Cluster master down"); Redis back without its data (restarted without
// persistence) stops the worker, which never serves a dataset the store no longer holds, and the
// apis serve the store seeded again only once restarted (docs/design.md §8, "Dataset identity").

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "helpers.hpp"
#include "redis_cluster.hpp"
#include "redis_server.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

// The worker's own 503 for a batch its store failed (worker/server/worker_loop.cpp), not the
// api's for a verdict that did not come in time.
void check_store_unreachable(const http_response& r) {
  INFO(r.describe());
  check_error(r, 503, "unavailable");
  CHECK(r.header("Retry-After") == "1");
  const json::document body = r.json();
  CHECK(json::str(json::member(body, "error"), "message").find("store") != std::string::npos);
}

// Until a start with this requestId is decided: the store answers again and the worker with it.
bool decided_again(http_client& http, const std::string& user, const start_args& args) {
  return wait_until([&] { return start(http, user, args).status == 201; }, 20s);
}

}  // namespace

TEST_CASE(
    "with Redis down or hung a start is answered 503 by the worker, and decided once Redis "
    "is back",
    "[integration][store-down]") {
  // Down: refused at once. Hung: its connections stay open and nothing answers on them, so only
  // the worker's own reply timeout (2 s, worker/store/redis/connection.cpp) ends the wait.
  const std::string failure = GENERATE("down", "hung");
  CAPTURE(failure);
  // The api would wait this long for a verdict (within the client's 15 s): far longer than the
  // worker takes to say 503.
  stack s(stack_options{}.redis_store().verdict_timeout_ms(10000));
  http_client http(s.http_port());
  const auto user = create_user(http);
  REQUIRE(s.redis() != nullptr);

  if (failure == "down")
    s.redis()->kill9();
  else
    s.redis()->pause();
  const start_args args = start_args{}.session("tv").request(user + "-" + failure);
  const http_response refused = start(http, user, args);
  if (failure == "down")
    s.redis()->start();
  else
    s.redis()->resume();
  check_store_unreachable(refused);
  CHECK(s.worker_running());

  CHECK(decided_again(http, user, args));
  CHECK(stream_ids(http, user).size() == 1);
}

TEST_CASE(
    "Redis back without its data stops the worker; a worker that seeds it again serves the apis "
    "restarted after it",
    "[integration][store-down]") {
  // A playback key the restarted api shares with the first, as apis of one deployment do.
  stack s(
      stack_options{}.redis_store().api_env({"STREAMGATE_PLAYBACK_KEY=" + std::string(64, '7')}));
  http_client http(s.http_port());
  // Allowed, so the api has heard the worker's dataset: it routes to no worker before that.
  const http_response allowed = start(http, "alice", start_args{}.session("tv"));
  REQUIRE(allowed.status == 201);
  const json::document allowed_body = allowed.json();
  const std::string token = json::str(json::member(allowed_body, "playback"), "token");
  REQUIRE(s.redis() != nullptr);

  // Restarted without persistence, as far as the worker can tell: the same port, nothing in it.
  s.redis()->kill9();
  std::filesystem::remove_all(s.redis()->dir() / "appendonlydir");
  s.redis()->start();

  // Deciding on an empty store would forget every live stream and let each user start the limit
  // again: the worker stops instead, and says why.
  REQUIRE(wait_until([&] { return !s.worker_running(); }, 20s));
  CHECK(s.worker_exit() == "exited with 1");
  CHECK(s.worker_log_tail().find("no longer holds the dataset") != std::string::npos);

  // Seeded again, the store is another dataset: the api, which served the first, sends the
  // worker nothing, as it would a worker pointed at a second store by mistake.
  s.start_worker();
  REQUIRE(s.wait_worker_started());
  REQUIRE(wait_until(
      [&] { return s.api_log_tail().find("it gets no request") != std::string::npos; }, 20s));
  const http_response refused = start(http, "alice", start_args{}.session("phone"));
  INFO(refused.describe());
  CHECK(refused.status == 503);
  CHECK(http.get("/health").status == 503);

  // A restarted api serves the dataset it hears first, the new one, where the refused start was
  // never decided.
  s.stop_api();
  s.start_api();
  s.wait_healthy();
  CHECK(stream_ids(http, "alice").empty());
  CHECK(start(http, "alice", start_args{}.session("tv")).status == 201);
  // And the stream the lost store held plays no more: its token predates the restarted api.
  CHECK(authorize(http, video_1, token) == "token_expired");
}

TEST_CASE(
    "with one Redis Cluster master down or hung, only its users are answered 503: the others "
    "start and keep their streams",
    "[integration][store-down]") {
  const std::string failure = GENERATE("down", "hung");
  CAPTURE(failure);
  stack s(stack_options{}.cluster_store().verdict_timeout_ms(10000));
  redis_cluster& cluster = *s.cluster();
  // As a deployment that wants its other masters to serve runs it (README, "Scaling out").
  cluster.configure("cluster-require-full-coverage", "no");
  const auto node_of = [&](const std::string& key) {
    return cluster.owner_of(cluster.slot_of(key));
  };
  // Not the master of every worker's clock (sg:dataset), which every batch reads.
  const std::size_t down = (node_of("sg:dataset") + 1) % redis_cluster::node_count;
  // A start also writes its requestId to the owner index, on the master of its shard
  // (worker/store/redis/redis_keys.hpp: slot % 1024, each on the slot of every 16th tag): the
  // up user's go to a master that stays up.
  const auto request_up = [&](const std::string& prefix) {
    for (int i = 0;; ++i) {
      std::string id = prefix + "-" + std::to_string(i);
      if (cluster.owner_of(static_cast<std::uint16_t>(cluster.slot_of(id) % 1024 * 16)) != down)
        return id;
    }
  };

  http_client http(s.http_port());
  std::string up;
  std::string gone;
  for (int i = 0; i < 100 && (up.empty() || gone.empty()); ++i) {
    std::string user = create_user(http);
    (node_of("{user:" + user + "}") == down ? gone : up) = std::move(user);
  }
  REQUIRE_FALSE(up.empty());
  REQUIRE_FALSE(gone.empty());
  const http_response up_started =
      start(http, up, start_args{}.session("tv").request(request_up("a")));
  const http_response gone_started =
      start(http, gone, start_args{}.session("tv").request(request_up("b")));
  REQUIRE(up_started.status == 201);
  REQUIRE(gone_started.status == 201);
  const std::string up_stream = json::str(up_started.json()["stream"], "streamId");
  const std::string gone_stream = json::str(gone_started.json()["stream"], "streamId");

  if (failure == "down")
    cluster.kill9(down);
  else
    cluster.pause(down);
  // The user on a master that answers: its stream heart-beaten, a second one started.
  const http_response up_beat = http.post(heartbeat_path(up, up_stream), "");
  const http_response up_second =
      start(http, up, start_args{}.session("phone").request(request_up("c")));
  // The user on the master down: the worker's own 503, naming the store.
  const start_args gone_second = start_args{}.session("phone").request(request_up("d"));
  const http_response gone_refused = start(http, gone, gone_second);
  const http_response gone_beat = http.post(heartbeat_path(gone, gone_stream), "");
  if (failure == "down")
    cluster.restart(down);
  else
    cluster.resume(down);

  CHECK(up_beat.status == 200);
  CHECK(up_second.status == 201);
  check_store_unreachable(gone_refused);
  check_store_unreachable(gone_beat);
  CHECK(s.worker_running());
  // Back: its start decided, and its first stream still there.
  CHECK(decided_again(http, gone, gone_second));
  const std::vector<std::string> streams = stream_ids(http, gone);
  CHECK(std::find(streams.begin(), streams.end(), gone_stream) != streams.end());
  CHECK(streams.size() == 2);
  CHECK(stream_ids(http, up).size() == 2);
}
