// A shared store that fails under a running worker (docs/design.md §8, the worker's failure rule):
// Redis down or hung gets each batch a 503 at once that names the store, and the worker decides
// again once Redis is back; Redis back without its data (restarted without persistence) stops
// the worker, which never serves a dataset the store no longer holds, and the apis serve the
// store seeded again only once restarted (docs/design.md §8, "Dataset identity").

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "helpers.hpp"
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
