// Workers on different stores behind the apis (a misconfiguration a black-box probe found: an
// api failed a user over from one to the other and the limit was granted twice). Each worker
// announces its dataset with its heartbeats; an api serves the one it heard first, and sends no
// worker anything while a worker of another dataset answers: else two apis that heard different
// ones first would each grant a user the limit, one per store. Nor while a worker answers whose
// dataset it has not heard (docs/design.md §8).

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

// Users of the demo catalog (both stores hold it), one that the api routes to worker 0 while it
// lives and one to worker 1 (std::hash of the id, modulo the workers: route_key_of in
// api/worker_link/worker_link.cpp). So whichever worker serves the other dataset, it is some
// user's own worker.
std::vector<std::string> one_user_per_worker() {
  std::vector<std::string> users(2);
  for (const char* id : {"alice", "bob", "dave", "erin", "frank", "grace", "henry", "jonas"}) {
    std::string& slot = users[std::hash<std::string_view>{}(id) % 2];
    if (slot.empty()) slot = id;
  }
  REQUIRE_FALSE(users[0].empty());
  REQUIRE_FALSE(users[1].empty());
  return users;
}

// A start refused for want of a worker to decide it.
void check_unavailable(http_client& http, const std::string& user, const std::string& session) {
  const auto r = start(http, user, start_args{}.session(session));
  INFO(user << ": " << r.describe());
  CHECK(r.status == 503);
}

// Starts `user` on new sessions until one is not allowed: how many were.
int start_to_limit(http_client& http, const std::string& user, int& session) {
  for (int allowed = 0;; ++allowed) {
    const auto r = start(http, user, start_args{}.session("dev-" + std::to_string(++session)));
    INFO(user << ": " << r.describe());
    if (r.status == 201) continue;
    REQUIRE(r.status == 429);
    return allowed;
  }
}

// Until the api has heard a worker of another dataset than its own.
bool heard_another_dataset(http_client& http) {
  return wait_until(
      [&] {
        return sample_value(http.get("/metrics").body, "streamgate_worker_foreign_dataset_total") >=
               1;
      },
      20s);
}

bool health_is(http_client& http, int status) {
  return wait_until([&] { return http.get("/health").status == status; }, 20s);
}

}  // namespace

TEST_CASE("an api serves no worker while one of another dataset answers, and never that one",
          "[integration][dataset]") {
  // Worker 0 holds the dataset the api heard first; worker 1 joined with a store of its own.
  stack s(stack_options{}.workers(2).one_store_per_worker().verdict_timeout_ms(1000));
  http_client http(s.http_port());
  const std::vector<std::string> users = one_user_per_worker();
  REQUIRE(heard_another_dataset(http));
  for (const std::string& user : users) check_unavailable(http, user, "split-" + user);
  CHECK(health_is(http, 503));
  int session = 0;

  // The other store's worker gone, the api serves its own dataset, where nothing refused above
  // was decided: each user gets their limit, once.
  s.kill9_worker(1);
  REQUIRE(health_is(http, 200));
  for (const std::string& user : users) {
    CAPTURE(user);
    CHECK(stream_ids(http, user).empty());
    CHECK(start_to_limit(http, user, session) >= 1);
  }

  // Back, it stops the api again; and with the api's own worker gone, the other is still never
  // asked, not even once the api has given its own up.
  s.start_worker(1);
  REQUIRE(s.wait_worker_started(1));
  REQUIRE(health_is(http, 503));
  s.kill9_worker(0);
  for (const std::string& user : users) check_unavailable(http, user, "failover-" + user);
}

TEST_CASE("two apis that heard different datasets first never each grant a user the limit",
          "[integration][dataset]") {
  stack s(stack_options{}.workers(2).one_store_per_worker().apis(2).verdict_timeout_ms(1000));
  http_client first(s.http_port(0));
  http_client second(s.http_port(1));
  REQUIRE(heard_another_dataset(first));
  // The second api, restarted while worker 0 is down, hears worker 1's dataset first.
  s.stop_api(1);
  s.kill9_worker(0);
  s.start_api(1);
  s.wait_healthy(1);
  s.start_worker(0);
  REQUIRE(s.wait_worker_started(0));

  // Each api hears both: neither serves anyone.
  REQUIRE(heard_another_dataset(second));
  const std::string user = "alice";
  check_unavailable(first, user, "tv");
  check_unavailable(second, user, "phone");
  CHECK(health_is(first, 503));
  CHECK(health_is(second, 503));

  // One store left answering: only the api that serves it grants anything, and only the limit.
  s.kill9_worker(1);
  REQUIRE(health_is(first, 200));
  int session = 0;
  const int allowed = start_to_limit(first, user, session);
  CHECK(allowed >= 1);
  REQUIRE(health_is(second, 503));
  check_unavailable(second, user, "laptop");
  CHECK(static_cast<int>(stream_ids(first, user).size()) == allowed);
}

TEST_CASE("an api serves no worker while one answers whose dataset it has not heard",
          "[integration][dataset]") {
  // Worker 0's events reach the api through a relay the test holds up: the api hears worker 1's
  // dataset, while worker 0, of another, answers its pings unheard.
  stack s(stack_options{}.workers(2).one_store_per_worker().link_relayed_to(0).verdict_timeout_ms(
      1000));
  http_client http(s.http_port());
  s.events_relay().pause();
  s.stop_api();
  s.start_api();
  REQUIRE(wait_until([&] { return health_status(s.http_port()) == 503; }, 20s));
  const auto allowed = [&] {
    return start(http, "alice", start_args{}.session("dev-" + unique_id("s"))).status == 201;
  };
  // Past the first liveness window, by when every live worker has answered: still nothing.
  CHECK_FALSE(wait_until(allowed, 5s));

  // Heard, worker 0 is of another dataset: nothing still; gone, the api serves worker 1's.
  s.events_relay().resume();
  REQUIRE(heard_another_dataset(http));
  CHECK_FALSE(allowed());
  s.kill9_worker(0);
  CHECK(wait_until(allowed, 20s));
}

// A copy of a worker's SQLite file (a backup restored beside it, a second machine "scaled out"
// by copying the file) holds the same dataset id, but it is a store of its own: a user failed
// over from one worker to the other would get the limit again. Each such worker names only its
// own life alive (docs/design.md §9), so an api that hears two of them serves neither.
TEST_CASE("an api serves no worker while two serve copies of one SQLite file",
          "[integration][dataset]") {
  stack s(stack_options{}.workers(2).one_store_per_worker().verdict_timeout_ms(1000));
  http_client http(s.http_port());
  // Worker 1's store becomes a copy of worker 0's, made while both are stopped.
  s.stop_worker(1);
  s.stop_worker(0);
  const auto store_of = [&](int worker) { return "streamgate-" + std::to_string(worker) + ".db"; };
  for (const auto& entry : std::filesystem::directory_iterator(s.dir())) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(store_of(1))) std::filesystem::remove_all(entry.path());
  }
  for (const auto& entry : std::filesystem::directory_iterator(s.dir())) {
    const std::string name = entry.path().filename().string();
    if (!name.starts_with(store_of(0)) || name.ends_with(".lock")) continue;
    std::filesystem::copy(entry.path(), s.dir() / (store_of(1) + name.substr(store_of(0).size())),
                          std::filesystem::copy_options::recursive);
  }
  for (int worker : {0, 1}) {
    s.start_worker(worker);
    REQUIRE(s.wait_worker_started(worker));
  }

  // Stopped, the workers left /health at 503 already: wait for the api to have heard both lives.
  const std::vector<std::string> users = one_user_per_worker();
  REQUIRE(wait_until(
      [&] {
        return sample_value(http.get("/metrics").body, "streamgate_worker_store_copies") == 1;
      },
      20s));
  CHECK(http.get("/health").status == 503);
  for (const std::string& user : users) check_unavailable(http, user, "copy-" + user);

  // One copy left, the api serves it, and each user gets the limit once.
  s.kill9_worker(1);
  REQUIRE(health_is(http, 200));
  int session = 0;
  for (const std::string& user : users) {
    CAPTURE(user);
    CHECK(start_to_limit(http, user, session) >= 1);
  }
}
