// The Redis store against real redis-servers and a real three-master Redis Cluster on free
// loopback ports (redis_store_support.hpp).
// Here: a server that may lose what it acknowledges (a maxmemory-policy that evicts, no AOF, an
// AOF not synced on every write) is refused at open, when the store connects to it again, and at
// the worker's once-a-second look at its dataset (docs/design.md §8); one that hides its settings
// is served with a warning.

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <tuple>
#include <zmq.hpp>

#include "decider_support.hpp"
#include "redis_store_support.hpp"
#include "wait.hpp"
#include "worker/server/worker_loop.hpp"

namespace streamgate::redis_test {

namespace {

using Catch::Contains;

void config_set(redis_client& c, const std::string& name, const std::string& value) {
  REQUIRE(reply_string(*c.command({"CONFIG", "SET", name, value})) == "OK");
}

// What spdlog's default logger (the one logging facade, common/log.hpp) writes while it lives.
class captured_log final {
 public:
  captured_log() : previous_(spdlog::default_logger()) {
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "captured", std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)));
  }
  ~captured_log() { spdlog::set_default_logger(previous_); }
  captured_log(const captured_log&) = delete;
  captured_log& operator=(const captured_log&) = delete;

  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
};

std::size_t occurrences(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("a redis store refuses to open on a server that may lose what it acknowledges",
          "[redis][settings][integration]") {
  using row = std::tuple<std::string, std::string, std::string>;  // setting, value, needed
  const row bad = GENERATE(table<std::string, std::string, std::string>({
      row{"maxmemory-policy", "allkeys-lru", "noeviction"},
      row{"maxmemory-policy", "volatile-lru", "noeviction"},
      row{"appendonly", "no", "yes"},
      row{"appendfsync", "everysec", "always"},
  }));
  const auto& [setting, value, needed] = bad;
  CAPTURE(setting, value);
  single_redis redis;
  config_set(*redis.client(), setting, value);

  const std::string refusal = message_thrown<store_lost>([&] { open_store(redis.seeds()); });
  CHECK_THAT(refusal, Contains("127.0.0.1:" + std::to_string(redis.server().port())) &&
                          Contains(setting + " is '" + value + "', needs '" + needed + "'"));
}

TEST_CASE("a redis store opens on a server run as documented, and on one that hides its settings",
          "[redis][settings][integration]") {
  single_redis redis;
  const captured_log log;
  SECTION("noeviction, appendonly yes, appendfsync always") {
    config_set(*redis.client(), "maxmemory-policy", "noeviction");
    auto s = open_store(redis.seeds());
    s->seed(demo_catalog(), {plain_user("alice")});
    CHECK(s->seeded());
    CHECK(load_one(*s, "alice").u.id == "alice");
    CHECK(log.text().empty());
  }
  SECTION("CONFIG refused (a managed Redis): one warning naming the server, then served") {
    REQUIRE(reply_string(*redis.client()->command({"ACL", "SETUSER", "default", "-config"})) ==
            "OK");
    auto s = open_store(redis.seeds());
    s->seed(demo_catalog(), {plain_user("alice")});
    CHECK(s->seeded());
    CHECK(s->seeded());
    const std::string text = log.text();
    CHECK(occurrences(text, "cannot verify") == 1);
    CHECK_THAT(
        text, Contains("127.0.0.1:" + std::to_string(redis.server().port())) && Contains("NOPERM"));
  }
}

TEST_CASE("a redis server set to lose what it acknowledges is refused when the store reconnects",
          "[redis][settings][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  s->seed(demo_catalog(), {plain_user("alice")});
  config_set(*redis.client(), "appendonly", "no");
  // Cuts every connection but the test's own, as a network blip or a Redis restart would.
  REQUIRE(reply_integer(*redis.client()->command({"CLIENT", "KILL", "TYPE", "normal"})) >= 1);

  // The first call finds its connection broken, the next connects again and asks first.
  const std::string refusal =
      message_thrown<store_lost>([&] { after_reconnect([&] { return s->load({"alice"}); }); });
  CHECK_THAT(refusal, Contains("appendonly is 'no', needs 'yes'"));
  // Refused for as long as the server is so: every call connects and asks again.
  CHECK_THAT(message_thrown<store_lost>([&] { s->load({"alice"}); }), Contains("appendonly"));
  config_set(*redis.client(), "appendonly", "yes");
  CHECK(load_one(*s, "alice").u.id == "alice");
}

TEST_CASE("a redis setting changed while a worker serves stops it at its next dataset check",
          "[redis][settings][integration]") {
  single_redis redis;
  auto s = open_store(redis.seeds());
  seed(*s);
  decider d(*s, test_rules());
  zmq::context_t context;
  worker_loop loop(context, {"inproc://settings-requests", "inproc://settings-events"}, 64, d, *s,
                   std::chrono::hours(24), "", "");
  std::atomic<bool> stop{false};
  auto served = std::async(std::launch::async, [&] { loop.run(stop); });
  const auto stopped = [&] {
    return served.wait_for(std::chrono::seconds::zero()) == std::future_status::ready;
  };
  // Serving: it has marked its life in the store (its first step).
  const auto client = redis.client();
  const bool marked = it::wait_until(
      [&] {
        return stopped() || reply_integer(*client->command({"ZCARD", "sg:workers"})) > 0;
      },
      std::chrono::seconds(10));
  CHECK((marked && !stopped()));

  config_set(*client, "maxmemory-policy", "allkeys-lru");
  const bool noticed = it::wait_until(stopped, std::chrono::seconds(10));
  stop = true;  // so that a loop that did not notice ends, and the test with it
  CHECK(noticed);
  CHECK_THAT(message_thrown<store_lost>([&] { served.get(); }),
             Contains("maxmemory-policy is 'allkeys-lru', needs 'noeviction'"));
}

TEST_CASE("a redis cluster with one master of three set to lose what it acknowledges is refused",
          "[redis][settings][cluster][integration]") {
  cluster_redis redis;
  auto serving = open_store(redis.seeds());
  serving->seed(demo_catalog(), {plain_user("alice")});
  REQUIRE(serving->seeded());
  // Not the seed: the store learns of this master from the slot map.
  config_set(*redis.client(2), "appendfsync", "everysec");
  const std::string node = "127.0.0.1:" + std::to_string(redis.cluster().port(2));

  CHECK_THAT(message_thrown<store_lost>([&] { serving->seeded(); }),
             Contains(node) && Contains("appendfsync is 'everysec', needs 'always'"));
  CHECK_THAT(message_thrown<store_lost>([&] { open_store(redis.seeds()); }),
             Contains(node) && Contains("appendfsync"));
}

}  // namespace streamgate::redis_test
