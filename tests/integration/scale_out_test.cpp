// Scale-out on a shared Redis: 2 apis x 2 workers on one redis-server of the test's own, and on a
// 3-master Redis Cluster. Any worker serves any request, events reach every api, a dead worker's
// requests move to the other one, and Redis's AOF keeps every committed stream across a restart.

#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

// kind: "redis" (one server) or "cluster" (three masters).
stack_options two_by_two(const std::string& kind) {
  // A generous verdict timeout: a request whose worker dies is resent to the other one.
  // No per-user start rate limit: the bursts are meant to reach the workers.
  stack_options options =
      stack_options{}.workers(2).apis(2).verdict_timeout_ms(15000).api_args({"--start-rate", "0"});
  return kind == "cluster" ? options.cluster_store() : options.redis_store();
}

struct answer {
  std::string request_id;
  std::string user;
  int status = 0;
  std::string stream_id;
  std::string problem;  // a transport failure or an unexpected body
};

answer start_and_record(http_client& http, const std::string& user, const std::string& session,
                        const std::string& request_id) {
  answer a{request_id, user, 0, {}, {}};
  try {
    const auto r = start(http, user, start_args{}.session(session).request(request_id));
    a.status = r.status;
    if (r.status == 201) a.stream_id = json::str(r.json()["stream"], "streamId");
    if (r.status != 201 && r.status != 429) a.problem = r.describe();
  } catch (const std::exception& e) {
    a.problem = e.what();
  }
  return a;
}

// Starts the user's limit of streams one by one, sessions and requestIds named `tag` and a
// number; each must be allowed. Their stream ids.
std::set<std::string> start_limit(http_client& http, const std::string& user,
                                  const std::string& tag) {
  std::set<std::string> started;
  for (int i = 0; i < default_limit; ++i) {
    const answer a =
        start_and_record(http, user, tag + std::to_string(i), user + "-" + tag + std::to_string(i));
    INFO(a.problem);
    REQUIRE(a.status == 201);
    started.insert(a.stream_id);
  }
  return started;
}

// How many workers the api behind `http` counts alive.
double workers_alive(http_client& http) {
  return sample_value(http.get("/metrics").body, "streamgate_workers_alive");
}

int count_of(const std::vector<std::string>& messages, const std::string& needle) {
  int n = 0;
  for (const auto& m : messages)
    if (m.find(needle) != std::string::npos) ++n;
  return n;
}

}  // namespace

TEST_CASE("100 concurrent starts for one user over 2 apis and 2 workers allow exactly the limit",
          "[integration][scale]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  stack s(two_by_two(kind));
  http_client http(s.http_port());
  const auto user = create_user(http);

  constexpr int count = 100;
  std::vector<std::unique_ptr<http_client>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<http_client>(s.http_port(i % 2), 30s));
    clients.back()->connect();
  }
  std::vector<answer> answers(count);
  std::latch go(count + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      answers[static_cast<std::size_t>(i)] =
          start_and_record(*clients[static_cast<std::size_t>(i)], user,
                           "crowd-" + std::to_string(i), user + "-crowd-" + std::to_string(i));
    });
  }
  go.arrive_and_wait();
  for (auto& t : threads) t.join();

  std::set<std::string> granted;
  int denied = 0;
  for (const auto& a : answers) {
    INFO(a.request_id << ": " << a.problem);
    CHECK(a.problem.empty());
    if (a.status == 201) granted.insert(a.stream_id);
    if (a.status == 429) ++denied;
  }
  CHECK(granted.size() == static_cast<std::size_t>(default_limit));
  CHECK(denied == count - default_limit);
  const auto listed = stream_ids(http, user);
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == granted);
}

TEST_CASE("bursts of concurrent starts for many users over 2 apis and 2 workers give each user "
          "exactly the limit",
          "[integration][scale]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  stack s(two_by_two(kind));
  http_client admin(s.http_port());
  constexpr int users = 12;
  constexpr int starts_per_user = 8;
  std::vector<std::string> user_ids;
  for (int u = 0; u < users; ++u) user_ids.push_back(create_user(admin));

  // Every start of every user at once, spread over both apis (and so over both workers' routes).
  constexpr int count = users * starts_per_user;
  std::vector<std::unique_ptr<http_client>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<http_client>(s.http_port(i % 2), 30s));
    clients.back()->connect();
  }
  std::vector<answer> answers(count);
  std::latch go(count + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      const std::string& user = user_ids[static_cast<std::size_t>(i % users)];
      go.arrive_and_wait();
      answers[static_cast<std::size_t>(i)] =
          start_and_record(*clients[static_cast<std::size_t>(i)], user,
                           "burst-" + std::to_string(i), user + "-burst-" + std::to_string(i));
    });
  }
  go.arrive_and_wait();
  for (auto& t : threads) t.join();

  std::map<std::string, std::set<std::string>> granted;
  for (const auto& a : answers) {
    INFO(a.request_id << ": " << a.problem);
    CHECK(a.problem.empty());
    if (a.status == 201) granted[a.user].insert(a.stream_id);
  }
  for (const auto& user : user_ids) {
    INFO("user " << user);
    CHECK(granted[user].size() == static_cast<std::size_t>(default_limit));
    const auto listed = stream_ids(admin, user);
    CHECK(std::set<std::string>(listed.begin(), listed.end()) == granted[user]);
  }
}

TEST_CASE("a verdict for a request made on api 1 reaches the user's WebSocket on api 2, once",
          "[integration][scale]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  stack s(two_by_two(kind));
  http_client on_first(s.http_port(0));
  const auto user = create_user(on_first);
  const auto other = create_user(on_first);
  ws_client on_second(s.http_port(1), ws_client::target_for(user));
  ws_client also_first(s.http_port(0), ws_client::target_for(user));
  ws_client other_user(s.http_port(1), ws_client::target_for(other));
  read_snapshot(on_second, user);
  read_snapshot(also_first, user);
  read_snapshot(other_user, other);

  // Several requests, so both workers decide some of them (the apis spread users over the live
  // workers; each event is published by the worker that decided it).
  std::vector<std::string> request_ids;
  std::vector<std::string> stream_ids_started;
  for (int i = 0; i < 3; ++i) {
    const std::string request_id = user + "-spread-" + std::to_string(i);
    request_ids.push_back(request_id);
    const auto r =
        start(on_first, user, start_args{}.session("tv-" + std::to_string(i)).request(request_id));
    INFO(r.describe());
    REQUIRE(r.status == 201);
    stream_ids_started.push_back(json::str(r.json()["stream"], "streamId"));
  }
  for (const auto& id : request_ids) {
    const auto v = read_verdict(on_second, id);
    CHECK(json::str(v, "verdict") == "allowed");
    read_verdict(also_first, id);
  }
  const auto stopped = on_first.del(stream_path(user, stream_ids_started[0]));
  REQUIRE(stopped.status == 204);
  read_ended(on_second, stream_ids_started[0]);
  read_ended(also_first, stream_ids_started[0]);

  // Exactly once: nothing more of these events arrives, on either api.
  const auto marker =
      start(on_first, user, start_args{}.session("marker").request(user + "-marker"));
  REQUIRE(marker.status == 201);
  read_verdict(on_second, user + "-marker");
  read_verdict(also_first, user + "-marker");
  for (ws_client* ws : {&on_second, &also_first}) {
    const auto received = ws->received();
    for (const auto& id : request_ids)
      CHECK(count_of(received, "\"requestId\":\"" + id + "\"") == 1);
    CHECK(count_of(received, "\"type\":\"ended\"") == 1);
  }
  // And nothing of this user reached the other user's WebSocket.
  CHECK(count_of(other_user.received(), user) == 0);
}

TEST_CASE("a user deleted and created again, over 2 apis and 2 workers, is made each time",
          "[integration][scale]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  stack s(two_by_two(kind));
  const std::string user = unique_id("again");
  // Made on one api and deleted on the other, each in turn: the requests travel every route.
  for (int round = 0; round < 8; ++round) {
    CAPTURE(round);
    http_client maker(s.http_port(round % 2));
    http_client deleter(s.http_port((round + 1) % 2));
    const auto made = maker.post("/api/v1/users", R"({"id":")" + user + R"(","name":"Again"})");
    INFO(made.describe());
    REQUIRE(made.status == 201);
    REQUIRE(start(maker, user, start_args{}.session("tv")).status == 201);
    const auto gone = deleter.del(user_path(user));
    INFO(gone.describe());
    REQUIRE(gone.status == 204);
  }
}

TEST_CASE("a worker whose users moved while it hung renews and stops what the other one started",
          "[integration][scale]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  stack s(two_by_two(kind));
  http_client http(s.http_port());
  const auto user = create_user(http);
  const answer first = start_and_record(http, user, "first", user + "-first");
  INFO(first.problem);
  REQUIRE(first.status == 201);
  std::vector<std::string> streams{first.stream_id};
  // Each worker hangs in turn while a stream is started, so the user's requests move to the other
  // one. When the user's own worker is back, it holds a copy of the user without that stream:
  // what it answers about the stream must come from the store (docs/design.md §8).
  for (int w = 0; w < s.worker_count(); ++w) {
    CAPTURE(w);
    s.pause_worker(w);
    REQUIRE(wait_until([&] { return workers_alive(http) == 1; }, 20s));
    const std::string session = "moved-" + std::to_string(w);
    answer moved;
    REQUIRE(wait_until(
        [&] {
          moved = start_and_record(http, user, session, user + "-" + session);
          return moved.status == 201;
        },
        20s));
    streams.push_back(moved.stream_id);
    s.resume_worker(w);
    REQUIRE(wait_until([&] { return workers_alive(http) == 2; }, 20s));
    // Newest first: a commit about an older one would correct the copy before it is asked.
    for (auto id = streams.rbegin(); id != streams.rend(); ++id) {
      const auto beat = http.post(heartbeat_path(user, *id), "");
      INFO(*id << ": " << beat.describe());
      CHECK(beat.status == 200);
    }
  }
  for (const std::string& id : streams) {
    const auto stopped = http.del(stream_path(user, id));
    INFO(id << ": " << stopped.describe());
    CHECK(stopped.status == 204);
  }
  CHECK(stream_ids(http, user).empty());
}

TEST_CASE("a stop-all its api gave up on while the worker hung ends nothing started after it",
          "[integration][scale]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  stack s(two_by_two(kind).verdict_timeout_ms(1000));
  http_client http(s.http_port(), 30s);
  const auto user = create_user(http);
  // Whichever worker holds the user: hung, it leaves the stop-all unanswered (503).
  int hung = -1;
  for (int w = 0; w < s.worker_count() && hung < 0; ++w) {
    s.pause_worker(w);
    if (http.del(streams_path(user)).status == 503)
      hung = w;
    else
      s.resume_worker(w);
  }
  REQUIRE(hung >= 0);
  // The client retries on the other worker once the api counts the hung one out, and goes on.
  REQUIRE(wait_until([&] { return workers_alive(http) == 1; }, 20s));
  REQUIRE(wait_until([&] { return http.del(streams_path(user)).status == 204; }, 20s));
  const std::set<std::string> started = start_limit(http, user, "after-");
  // Back, the worker reads the stop-all its api gave up on: refused, not decided, so the streams
  // started since go on (docs/design.md §5, "Bad input and faults").
  s.resume_worker(hung);
  REQUIRE(wait_until([&] { return workers_alive(http) == 2; }, 20s));
  const auto listed = stream_ids(http, user);
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == started);
}

TEST_CASE("kill -9 of one worker under load: the other serves everything, nothing decided twice",
          "[integration][scale]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  stack s(two_by_two(kind));
  http_client admin(s.http_port());
  constexpr int users = 10;
  constexpr int starts_per_user = 6;
  std::vector<std::string> user_ids;
  for (int u = 0; u < users; ++u) user_ids.push_back(create_user(admin));

  std::mutex lock;
  std::vector<answer> answers;
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  // One thread per user and api alternating, so the load spreads over both apis and workers.
  for (int u = 0; u < users; ++u) {
    threads.emplace_back([&, u] {
      http_client http(s.http_port(u % 2), 30s);
      const std::string& user = user_ids[static_cast<std::size_t>(u)];
      for (int i = 0; i < starts_per_user; ++i) {
        answer a = start_and_record(http, user, "dev-" + std::to_string(i),
                                    user + "-load-" + std::to_string(i));
        ++answered;
        const std::lock_guard<std::mutex> guard(lock);
        answers.push_back(std::move(a));
      }
    });
  }
  // Under load: some answers are in, most are not.
  REQUIRE(wait_until([&] { return answered.load() >= users; }, 30s, 1ms));
  s.kill9_worker(0);
  for (auto& t : threads) t.join();

  REQUIRE(answers.size() == static_cast<std::size_t>(users * starts_per_user));
  std::map<std::string, std::set<std::string>> granted;
  for (const auto& a : answers) {
    INFO(a.request_id << ": " << a.problem);
    CHECK(a.problem.empty());
    if (a.status == 201) granted[a.user].insert(a.stream_id);
  }
  http_client http(s.http_port(1));
  for (const auto& user : user_ids) {
    INFO("user " << user);
    const auto listed = stream_ids(http, user);
    // Each user's first `limit` starts were allowed and nothing more: a start decided twice (once
    // by the dead worker, once by the other) would show as a stream nobody was told of.
    CHECK(granted[user].size() == static_cast<std::size_t>(default_limit));
    CHECK(std::set<std::string>(listed.begin(), listed.end()) == granted[user]);
  }
  // Every verdict the clients got is the one remembered for its requestId.
  for (const auto& a : answers) {
    if (a.status != 201) continue;
    const auto remembered = http.get("/api/v1/requests/" + a.request_id);
    INFO(a.request_id << ": " << remembered.describe());
    REQUIRE(remembered.status == 200);
    CHECK(json::str(remembered.json()["stream"], "streamId") == a.stream_id);
  }
}

TEST_CASE("a restart of Redis with AOF on loses no committed stream", "[integration][scale]") {
  const std::string kind = GENERATE("redis", "cluster");
  CAPTURE(kind);
  stack s(two_by_two(kind));
  http_client http(s.http_port());
  const auto user = create_user(http);
  const std::set<std::string> granted = start_limit(http, user, "aof-");
  // A restart under running workers: one still opening the store (slowly, under a sanitizer)
  // would rightly exit, as a worker that cannot reach its store at start does.
  for (int w = 0; w < s.worker_count(); ++w) REQUIRE(s.wait_worker_started(w));

  if (s.cluster()) {
    // Every node in turn, so the one holding the user's slot is among them.
    for (std::size_t n = 0; n < redis_cluster::node_count; ++n) {
      s.cluster()->kill9(n);
      s.cluster()->restart(n);
    }
  } else {
    REQUIRE(s.redis() != nullptr);
    s.redis()->kill9();
    s.redis()->start();
  }

  // The workers reconnect on their own; until then the api answers 503.
  std::vector<std::string> listed;
  const bool back = wait_until(
      [&] {
        const auto r = http.get(streams_path(user));
        if (r.status != 200) return false;
        listed = json::strings_of(r.json(), "streamId");
        return true;
      },
      20s);
  REQUIRE(back);
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == granted);
  const auto fourth = start(http, user, start_args{}.session("dev-x").request(user + "-aof-x"));
  INFO(fourth.describe());
  CHECK(fourth.status == 429);
  // The request memory survived too: a retry is not a new decision.
  const auto replay = start(http, user, start_args{}.session("aof-0").request(user + "-aof-0"));
  REQUIRE(replay.status == 201);
  CHECK(granted.contains(json::str(replay.json()["stream"], "streamId")));
}
