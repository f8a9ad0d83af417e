// The fault test of docs/design.md §5 ("worker down or restarted", "api restarted"): under a
// bounded concurrent load of starts and stops over many users, kill -9 the worker and restart
// it, then kill -9 the api and restart it. Afterwards no user is above the limit, every request
// got exactly one answer, no stream that was allowed and not stopped has vanished, and no
// requestId was decided twice.
//
// "Exactly one answer" means, per request the client sent:
//  - either one complete HTTP response, and for a start it is 201, 429 or 503 and names the
//    requestId that was sent (a response meant for another request, a second response to an
//    earlier one, or any other status is a wrong answer);
//  - or no response because the connection died, which is only expected while the api is being
//    killed and restarted (the request began before the kill and its connection broke, or it
//    found no api listening). A connection that dies at any other moment, including while the
//    worker is down (then the api must answer 503), is a failure.
// A 503 or a dead connection leaves the verdict unknown; re-sending the same requestId after
// the load tells it. Every requestId is re-sent at the end: a replay must return the original
// verdict (the same streamId for an allowed one), which proves it was decided once.

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "helpers.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

constexpr int client_count = 4;
constexpr int user_count = 20;
// Nothing may expire during the test: every stream not stopped must still be there at the end.
constexpr int long_lease_seconds = 3600;
// Short, so the requests that wait for a dead worker are answered 503 soon and the load goes on.
constexpr int short_verdict_timeout_ms = 1000;

enum class kind { start, stop };

struct record {
  kind what = kind::start;
  std::string user;
  std::string video;
  std::string session;
  std::string request_id;  // starts
  std::string stream_id;   // a stop's target; an allowed start's stream
  int status = 0;          // 0: no answer
  bool connection_died = false;
  bool died_expectedly = false;  // while the api was being killed and restarted
  std::string wrong;             // why the answer is not an acceptable one; empty when it is
};

// What the controller (the test's main thread) tells the clients, and what they report back.
struct load_state {
  std::atomic<bool> stop_load{false};
  std::atomic<int> answers{0};           // complete HTTP responses
  std::atomic<int> decided{0};           // 201 and 429 answers to starts
  std::atomic<int> dead_connections{0};  // requests without a response
  // The api's incarnation, bumped just before it is killed; `api_down` until it is healthy again.
  std::atomic<int> api_epoch{0};
  std::mutex mutex;
  std::condition_variable api_back;
  bool api_down = false;  // guarded by mutex
};

class load_client final {
 public:
  load_client(int index, unsigned short port, const std::vector<std::string>& users,
              load_state& state)
      : index_(index), http_(port, 30s), users_(users), state_(state), random_(index + 1) {}

  void run() {
    while (!state_.stop_load.load()) step();
  }

  std::vector<record> records;

 private:
  void step() {
    const std::string& user = users_[pick(users_.size())];
    auto& live = live_[user];
    // Stop one of our live streams two times in five, when there is one: slots free up again,
    // so the load keeps a mix of allowed and denied starts.
    if (!live.empty() && pick(5) < 2) {
      auto it = live.begin();
      std::advance(it, static_cast<long>(pick(live.size())));
      const std::string stream_id = *it;
      live.erase(it);
      stop(user, stream_id);
    } else {
      start(user);
    }
  }

  void start(const std::string& user) {
    record r;
    r.what = kind::start;
    r.user = user;
    r.video = "v0" + std::to_string(1 + pick(4));
    r.session = "fault-ses-" + std::to_string(index_) + "-" + std::to_string(sequence_);
    r.request_id = "fault-req-" + std::to_string(index_) + "-" + std::to_string(sequence_);
    ++sequence_;
    exchange(r, [&] {
      return streamgate::it::start(
          http_, user, start_args{}.video(r.video).session(r.session).request(r.request_id));
    });
    if (r.status == 201 || r.status == 429 || r.status == 503) {
      if (r.status != 503) ++state_.decided;
      check_start_answer(r);
    } else if (r.status != 0) {
      r.wrong = "a start answered " + std::to_string(r.status);
    }
    if (r.status == 201 && r.wrong.empty()) live_[user].insert(r.stream_id);
    records.push_back(std::move(r));
  }

  void stop(const std::string& user, const std::string& stream_id) {
    record r;
    r.what = kind::stop;
    r.user = user;
    r.stream_id = stream_id;
    exchange(r, [&] { return http_.del(stream_path(user, stream_id)); });
    // 404 would mean the stream had vanished: it was allowed, and this is its first stop.
    if (r.status != 0 && r.status != 204 && r.status != 503)
      r.wrong = "a stop answered " + std::to_string(r.status) + ": " + last_answer_;
    records.push_back(std::move(r));
  }

  template <class Send>
  void exchange(record& r, Send send) {
    const int epoch = state_.api_epoch.load();
    try {
      const http_response answer = send();
      ++state_.answers;
      r.status = answer.status;
      last_answer_ = answer.describe();
      body_ = answer.body;
    } catch (const http_error& e) {
      ++state_.dead_connections;
      r.connection_died = true;
      std::unique_lock lock(state_.mutex);
      r.died_expectedly = state_.api_down || state_.api_epoch.load() != epoch;
      if (!r.died_expectedly) r.wrong = std::string("the connection died: ") + e.what();
      // No api to talk to: wait for the controller to bring it back rather than spin.
      state_.api_back.wait(lock, [&] { return !state_.api_down || state_.stop_load.load(); });
    }
  }

  void check_start_answer(record& r) {
    const auto body = json::try_parse(body_);
    if (!body || !body->IsObject() || !json::has_string(*body, "requestId")) {
      r.wrong = "an answer without a requestId: " + last_answer_;
      return;
    }
    if (json::str(*body, "requestId") != r.request_id) {
      r.wrong = "the answer names another request: " + last_answer_;
      return;
    }
    if (r.status != 201) return;
    if (!json::has_object(*body, "stream") || !json::has_string((*body)["stream"], "streamId")) {
      r.wrong = "an allowed answer without a stream: " + last_answer_;
      return;
    }
    r.stream_id = json::str((*body)["stream"], "streamId");
  }

  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_);
  }

  int index_;
  http_client http_;
  const std::vector<std::string>& users_;
  load_state& state_;
  std::mt19937 random_;
  int sequence_ = 0;
  std::map<std::string, std::set<std::string>> live_;  // user -> streams this client may stop
  std::string last_answer_;
  std::string body_;
};

// Runs the clients on their own threads; joins them however the test case leaves.
class load_runner final {
 public:
  load_runner(unsigned short port, const std::vector<std::string>& users, load_state& state)
      : state_(state) {
    for (int i = 0; i < client_count; ++i)
      clients_.push_back(std::make_unique<load_client>(i, port, users, state));
    for (auto& c : clients_) threads_.emplace_back([client = c.get()] { client->run(); });
  }
  ~load_runner() { finish(); }

  void finish() {
    {
      const std::lock_guard lock(state_.mutex);
      state_.stop_load = true;
    }
    state_.api_back.notify_all();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  std::vector<record> records() const {
    std::vector<record> all;
    for (const auto& c : clients_) all.insert(all.end(), c->records.begin(), c->records.end());
    return all;
  }

 private:
  load_state& state_;
  std::vector<std::unique_ptr<load_client>> clients_;
  std::vector<std::thread> threads_;
};

// Waits until `counter` has grown by `more` since `since`; REQUIREs it within the deadline.
void wait_for_more(const std::atomic<int>& counter, int since, int more, const char* what) {
  INFO("waiting for " << more << " more " << what << " (had " << since << ", now "
                      << counter.load() << ")");
  REQUIRE(wait_until([&] { return counter.load() >= since + more; }, 120s));
}

// A start re-sent with its requestId after the load, retried while the api answers 503.
http_response replay_start(http_client& http, const record& r) {
  http_response answer;
  const bool decided = wait_until(
      [&] {
        answer = start(http, r.user,
                       start_args{}.video(r.video).session(r.session).request(r.request_id));
        return answer.status != 503;
      },
      30s);
  INFO("replay of " << r.request_id << ": " << answer.describe());
  REQUIRE(decided);
  return answer;
}

}  // namespace

TEST_CASE("kill -9 of the worker and of the api under load loses no stream and decides nothing "
          "twice",
          "[integration][crash][fault]") {
  // No per-user start rate limit: the load (and its resends) is meant to reach the workers.
  stack s(stack_options{}
              .lease_seconds(long_lease_seconds)
              .verdict_timeout_ms(short_verdict_timeout_ms)
              .api_args({"--start-rate", "0"}));
  std::vector<std::string> users;
  {
    http_client setup(s.http_port());
    for (int i = 0; i < user_count; ++i) users.push_back(create_user(setup));
  }

  load_state state;
  load_runner load(s.http_port(), users, state);

  // Some decisions before any fault.
  wait_for_more(state.decided, 0, 100, "decided starts before the faults");

  // The worker dies: the api answers 503 meanwhile, on connections that stay open.
  s.kill9_worker();
  wait_for_more(state.answers, state.answers.load(), 2 * client_count,
                "answers while the worker is dead");
  s.start_worker();
  wait_for_more(state.decided, state.decided.load(), 200,
                "decided starts after the worker's restart");

  // The api dies: connections break until it is back.
  const int dead_before = state.dead_connections.load();
  {
    const std::lock_guard lock(state.mutex);
    state.api_down = true;
    ++state.api_epoch;
  }
  s.kill9_api();
  wait_for_more(state.dead_connections, dead_before, client_count,
                "requests whose connection died with the api");
  s.start_api();
  s.wait_healthy();
  {
    const std::lock_guard lock(state.mutex);
    state.api_down = false;
  }
  state.api_back.notify_all();
  wait_for_more(state.decided, state.decided.load(), 200,
                "decided starts after the api's restart");

  load.finish();
  const std::vector<record> records = load.records();

  // Every request got exactly one acceptable answer (see the top of the file).
  std::map<std::string, int> tally;
  for (const record& r : records) {
    const std::string what = r.what == kind::start ? "start" : "stop";
    ++tally[what + " " + (r.connection_died ? "died" : std::to_string(r.status))];
    if (!r.wrong.empty()) FAIL_CHECK(what << " " << r.request_id << r.stream_id << ": " << r.wrong);
  }
  CAPTURE(tally);
  CHECK(tally["start 201"] > 0);
  CHECK(tally["start 429"] > 0);

  // The verdict of every start: what the load saw, or for the unknown ones, what a replay says.
  // A replay of a known verdict must repeat it.
  http_client http(s.http_port());
  std::map<std::string, std::set<std::string>> allowed;  // user -> streams of allowed starts
  std::set<std::string> all_allowed;
  std::set<std::string> stopped;     // a stop answered 204
  std::set<std::string> maybe_stopped;  // a stop without a verdict: 503 or a dead connection
  for (const record& r : records) {
    if (r.what == kind::stop) {
      (r.status == 204 ? stopped : maybe_stopped).insert(r.stream_id);
      continue;
    }
    const http_response again = replay_start(http, r);
    CAPTURE(r.request_id, r.status, again.describe());
    if (r.status == 201) {
      REQUIRE(again.status == 201);
      CHECK(json::str(again.json()["stream"], "streamId") == r.stream_id);
    } else if (r.status == 429) {
      CHECK(again.status == 429);
    } else {
      CHECK((again.status == 201 || again.status == 429));
    }
    if (again.status != 201) continue;
    const std::string stream_id = json::str(again.json()["stream"], "streamId");
    // One stream per allowed request: a request decided twice would show a second one.
    CHECK(all_allowed.insert(stream_id).second);
    allowed[r.user].insert(stream_id);
  }
  for (const auto& id : stopped) maybe_stopped.erase(id);

  // No user above the limit; no stream allowed and not stopped has vanished; no stream that no
  // allowed request explains.
  for (const std::string& user : users) {
    CAPTURE(user);
    const auto listed_ids = stream_ids(http, user);
    const std::set<std::string> listed(listed_ids.begin(), listed_ids.end());
    CHECK(listed_ids.size() <= static_cast<std::size_t>(default_limit));
    CHECK(listed.size() == listed_ids.size());
    for (const std::string& id : allowed[user]) {
      CAPTURE(id);
      if (stopped.count(id) != 0) {
        CHECK(listed.count(id) == 0);
      } else if (maybe_stopped.count(id) == 0) {
        CHECK(listed.count(id) == 1);
      }
    }
    for (const std::string& id : listed) {
      CAPTURE(id);
      CHECK(allowed[user].count(id) == 1);
    }
  }
}
