// Two workers on different stores behind one api (a misconfiguration a black-box probe found:
// the api failed a user over from one to the other and the limit was granted twice). Each worker
// announces its dataset with its heartbeats; the api routes only among workers of one dataset and
// refuses the other, so whichever worker dies, no fourth stream is ever granted.

#include <catch2/catch.hpp>
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

}  // namespace

TEST_CASE("an api refuses a worker of another dataset, so no failover grants the limit twice",
          "[integration][dataset]") {
  stack s(stack_options{}.workers(2).one_store_per_worker().verdict_timeout_ms(1500));
  http_client http(s.http_port());
  const std::vector<std::string> users = one_user_per_worker();
  int session = 0;
  const auto start_new = [&](const std::string& user) {
    return start(http, user, start_args{}.session("dev-" + std::to_string(++session)));
  };
  // Each user at the limit of their plan, in the dataset the api serves.
  for (const std::string& user : users) {
    CAPTURE(user);
    for (int allowed = 0;; ++allowed) {
      const auto r = start_new(user);
      INFO(r.describe());
      if (r.status == 201) continue;
      CHECK(allowed >= 1);
      REQUIRE(r.status == 429);
      break;
    }
  }
  // The refusal is logged and counted once both workers were heard.
  REQUIRE(wait_until(
      [&] {
        const auto m = http.get("/metrics");
        return m.body.find("streamgate_worker_foreign_dataset_total 0") == std::string::npos &&
               m.body.find("streamgate_worker_foreign_dataset_total") != std::string::npos;
      },
      20s));

  // Losing either worker grants no user another stream: the other one either is that same
  // dataset's, or is never asked, not even once the api has given the dead one up.
  const auto no_start_allowed = [&] {
    bool all_denied = true;
    for (const std::string& user : users) {
      const auto r = start_new(user);
      INFO(user << ": " << r.describe());
      CHECK(r.status != 201);
      CHECK((r.status == 429 || r.status == 503));
      all_denied = all_denied && r.status == 429;
    }
    return all_denied;
  };
  for (int dead = 0; dead < 2; ++dead) {
    CAPTURE(dead);
    s.kill9_worker(dead);
    // Until the api has given the dead worker up: when it served the api's dataset, /health
    // turns 503 (the other worker does not count); when it did not, every user is denied by
    // their own.
    REQUIRE(
        wait_until([&] { return no_start_allowed() || http.get("/health").status == 503; }, 30s));
    no_start_allowed();
    s.start_worker(dead);
    s.wait_healthy();
  }
}
