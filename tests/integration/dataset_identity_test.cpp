// Two workers on different stores behind one api (a misconfiguration a black-box probe found:
// the api failed a user over from one to the other and the limit was granted twice). Each worker
// announces its dataset with its heartbeats; the api routes only among workers of one dataset and
// refuses the other, so whichever worker dies, no fourth stream is ever granted.

#include <catch2/catch.hpp>
#include <string>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

TEST_CASE("an api refuses a worker of another dataset, so no failover grants the limit twice",
          "[integration][dataset]") {
  stack s(stack_options{}.workers(2).one_store_per_worker().verdict_timeout_ms(1500));
  http_client http(s.http_port());
  // Both stores were seeded with the demo catalog: alice exists in each, with a limit of 3.
  const std::string user = "alice";
  for (int i = 0; i < default_limit; ++i) {
    const auto r = start(http, user, start_args{}.session("dev-" + std::to_string(i)));
    INFO(r.describe());
    REQUIRE(r.status == 201);
  }
  // The refusal is logged and counted once both workers were heard.
  REQUIRE(wait_until(
      [&] {
        const auto m = http.get("/metrics");
        return m.body.find("streamgate_worker_foreign_dataset_total 0") == std::string::npos &&
               m.body.find("streamgate_worker_foreign_dataset_total") != std::string::npos;
      },
      20s));

  // Whichever of the two held alice's streams, losing either worker grants no fourth stream:
  // the other one either is that same dataset's or is never asked.
  for (int dead = 0; dead < 2; ++dead) {
    CAPTURE(dead);
    s.kill9_worker(dead);
    const auto fourth = start(http, user, start_args{}.session("dev-extra-" + std::to_string(dead)));
    INFO(fourth.describe());
    CHECK(fourth.status != 201);
    CHECK((fourth.status == 429 || fourth.status == 503));
    s.start_worker(dead);
    s.wait_healthy();
  }
}
