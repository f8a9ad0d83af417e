// Concurrent starts for one user (docs/design.md §1, §5): however many arrive at once, through
// however many apis, exactly the limit is allowed.

#include <catch2/catch.hpp>
#include <latch>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "helpers.hpp"
#include "stack.hpp"

using namespace streamgate::it;

namespace {

// The per-user start rate limit is off: these floods are meant to reach the worker, whose
// decisions must keep the limit however many arrive at once (the limit is tested apart).
const std::vector<std::string> two_io_threads{"--io-threads", "2", "--start-rate", "0"};

struct outcome {
  int status = 0;
  std::string stream_id;
  std::string error;  // transport failure
  std::string description;
};

// `count` clients, each on its own connection and with its own sessionId, all released at once;
// client i talks to api i % apis.
std::vector<outcome> concurrent_starts(stack& s, int apis, const std::string& user, int count) {
  std::vector<std::unique_ptr<http_client>> clients;
  for (int i = 0; i < count; ++i) {
    clients.push_back(std::make_unique<http_client>(s.http_port(i % apis), 30s));
    clients.back()->connect();
  }
  std::vector<outcome> outcomes(static_cast<std::size_t>(count));
  std::latch go(count + 1);
  std::vector<std::thread> threads;
  for (int i = 0; i < count; ++i) {
    threads.emplace_back([&, i] {
      auto& out = outcomes[static_cast<std::size_t>(i)];
      go.arrive_and_wait();
      try {
        const auto r = start(*clients[static_cast<std::size_t>(i)], user,
                             start_args{}
                                 .video(std::string(video_1))
                                 .session("crowd-" + std::to_string(i))
                                 .request(user + "-crowd-req-" + std::to_string(i)));
        out.status = r.status;
        out.description = r.describe();
        if (r.status == 201) out.stream_id = json::str(r.json()["stream"], "streamId");
      } catch (const std::exception& e) {
        out.error = e.what();
      }
    });
  }
  go.arrive_and_wait();
  for (auto& t : threads) t.join();
  return outcomes;
}

void check_exactly_the_limit(http_client& http, const std::string& user,
                             const std::vector<outcome>& outcomes, int limit) {
  std::map<int, int> by_status;
  std::set<std::string> granted;
  for (const auto& o : outcomes) {
    INFO("answer: " << (o.error.empty() ? o.description : o.error));
    CHECK(o.error.empty());
    CHECK((o.status == 201 || o.status == 429));
    ++by_status[o.status];
    if (o.status == 201) granted.insert(o.stream_id);
  }
  CAPTURE(by_status);
  CHECK(by_status[201] == limit);
  CHECK(by_status[429] == static_cast<int>(outcomes.size()) - limit);
  CHECK(granted.size() == static_cast<std::size_t>(by_status[201]));

  const auto listed = stream_ids(http, user);
  CHECK(listed.size() == static_cast<std::size_t>(limit));
  CHECK(std::set<std::string>(listed.begin(), listed.end()) == granted);
}

}  // namespace

TEST_CASE("60 concurrent starts for one user allow exactly 3", "[integration][concurrency]") {
  // A generous verdict timeout: this is about the limit, not about speed under load. Two io
  // threads, so connections are served in parallel (and ThreadSanitizer sees it in CI).
  stack s(stack_options{}.verdict_timeout_ms(15000).api_args(two_io_threads));
  http_client http(s.http_port());
  const auto user = create_user(http);

  const auto outcomes = concurrent_starts(s, 1, user, 60);
  check_exactly_the_limit(http, user, outcomes, default_limit);
}

TEST_CASE("60 concurrent starts for one user over two apis allow exactly 3",
          "[integration][concurrency]") {
  stack s(stack_options{}.verdict_timeout_ms(15000).apis(2).api_args(two_io_threads));
  http_client http(s.http_port());
  const auto user = create_user(http);

  const auto outcomes = concurrent_starts(s, 2, user, 60);
  check_exactly_the_limit(http, user, outcomes, default_limit);
}

TEST_CASE("concurrent starts of many users each get their own limit",
          "[integration][concurrency]") {
  stack s(stack_options{}.verdict_timeout_ms(15000).api_args(two_io_threads));
  http_client http(s.http_port());
  constexpr int users = 5;
  constexpr int per_user = 8;
  std::vector<std::string> ids;
  for (int u = 0; u < users; ++u) ids.push_back(create_user(http));

  std::vector<std::vector<outcome>> results(users);
  std::vector<std::thread> threads;
  for (int u = 0; u < users; ++u)
    threads.emplace_back([&, u] {
      results[static_cast<std::size_t>(u)] =
          concurrent_starts(s, 1, ids[static_cast<std::size_t>(u)], per_user);
    });
  for (auto& t : threads) t.join();
  for (int u = 0; u < users; ++u) {
    CAPTURE(u);
    check_exactly_the_limit(http, ids[static_cast<std::size_t>(u)],
                            results[static_cast<std::size_t>(u)], default_limit);
  }
}
