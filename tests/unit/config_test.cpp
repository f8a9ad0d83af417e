// The programs' options (common/config): defaults, flags, the environment and bad values of each.

#include "config_test_support.hpp"

namespace streamgate::config_test {

TEST_CASE("a worker without options runs with the documented defaults", "[config]") {
  environment env;
  const auto loaded = load_worker({}, env);
  REQUIRE(loaded.has_value());
  CHECK_FALSE(loaded->help);
  const worker_config& c = loaded->config;
  CHECK(c.bind.requests == "tcp://127.0.0.1:5555");
  CHECK(c.bind.events == "tcp://127.0.0.1:5556");
  CHECK(c.store == "sqlite:var/streamgate.db");
  CHECK(c.catalog == "data/catalog.json");
  CHECK(c.lease_seconds == 90);
  CHECK(c.default_max_streams == 3);
  CHECK(c.default_policy == policy::deny);
  CHECK(c.request_memory_seconds == 600);
  CHECK(c.audit_retention_days == 30);
  CHECK(c.audit_lines_per_user == 1000);
  CHECK(c.max_batch == 512);
  CHECK(c.log.level == "info");
  CHECK(c.log.format == "text");
}

TEST_CASE("an api without options runs with the documented defaults", "[config]") {
  environment env;
  const auto loaded = load_api({}, env);
  REQUIRE(loaded.has_value());
  const api_config& c = loaded->config;
  CHECK(c.listen_host == "127.0.0.1");
  CHECK(c.listen_port == 8080);
  REQUIRE(c.workers.size() == 1);
  CHECK(c.workers[0].requests == "tcp://127.0.0.1:5555");
  CHECK(c.workers[0].events == "tcp://127.0.0.1:5556");
  CHECK(c.web_root == "web");
  CHECK(c.verdict_timeout_ms == 2000);
  CHECK(c.io_threads == 1);
  CHECK(c.max_connections == 10000);
  CHECK(c.max_connections_per_address == 2500);
  CHECK(c.log.level == "info");
}

TEST_CASE("the per-address connection cap is a quarter of --max-connections unless given",
          "[config]") {
  environment env;
  const auto cap = [&](const std::vector<std::string>& flags) {
    const auto loaded = load_api(arguments(flags), env);
    REQUIRE(loaded.has_value());
    return loaded->config.max_connections_per_address;
  };
  CHECK(cap({"--max-connections", "40000"}) == 10000);
  // At least 64: a small --max-connections is not turned into a handful per address.
  CHECK(cap({"--max-connections", "100"}) == 64);
  CHECK(cap({"--max-connections", "3"}) == 64);
  CHECK(cap({"--max-connections", "100", "--max-connections-per-address", "7"}) == 7);
  CHECK(cap({"--max-connections-per-address", "0"}) == 0);  // no cap
  env.set("STREAMGATE_MAX_CONNECTIONS_PER_ADDRESS", "12");
  CHECK(cap({}) == 12);
}

TEST_CASE("every worker flag is read as given", "[config]") {
  environment env;
  const auto loaded = load_worker({"--requests",
                                   "tcp://0.0.0.0:6000",
                                   "--events=ipc:///tmp/ev",
                                   "--store",
                                   "redis://127.0.0.1:6379,10.0.0.2:7001",
                                   "--catalog",
                                   "c.json",
                                   "--lease-seconds",
                                   "30",
                                   "--default-max-streams",
                                   "1000",
                                   "--policy",
                                   "monitor",
                                   "--request-memory-seconds",
                                   "604800",
                                   "--max-batch",
                                   "1",
                                   "--log-level",
                                   "debug",
                                   "--log-format",
                                   "json",
                                   "--insecure-link"},
                                  env);
  REQUIRE(loaded.has_value());
  const worker_config& c = loaded->config;
  CHECK(c.insecure_link);
  CHECK(c.bind.requests == "tcp://0.0.0.0:6000");
  CHECK(c.bind.events == "ipc:///tmp/ev");
  CHECK(c.store == "redis://127.0.0.1:6379,10.0.0.2:7001");
  CHECK(c.catalog == "c.json");
  CHECK(c.lease_seconds == 30);
  CHECK(c.default_max_streams == 1000);
  CHECK(c.default_policy == policy::monitor);
  CHECK(c.request_memory_seconds == 604800);
  CHECK(c.max_batch == 1);
  CHECK(c.log.level == "debug");
  CHECK(c.log.format == "json");
}

TEST_CASE("every api flag is read as given", "[config]") {
  environment env;
  const auto loaded =
      load_api({"--listen", "0.0.0.0:9090", "--web-root", "/srv/web", "--verdict-timeout-ms",
                "600000", "--io-threads", "64", "--log-level", "off", "--log-format", "json"},
               env);
  REQUIRE(loaded.has_value());
  const api_config& c = loaded->config;
  CHECK(c.listen_host == "0.0.0.0");
  CHECK(c.listen_port == 9090);
  CHECK(c.web_root == "/srv/web");
  CHECK(c.verdict_timeout_ms == 600000);
  CHECK(c.io_threads == 64);
  CHECK(c.log.level == "off");
  CHECK(c.log.format == "json");
}

TEST_CASE("an IPv6 listen address is written in brackets", "[config]") {
  environment env;
  const auto loaded = load_api({"--listen", "[::1]:8443"}, env);
  REQUIRE(loaded.has_value());
  CHECK(loaded->config.listen_host == "::1");
  CHECK(loaded->config.listen_port == 8443);
}

TEST_CASE("the config file is overridden by the environment, which flags override", "[config]") {
  const temp_dir dir;
  const std::string file = dir.write(
      "worker.json", R"({"lease-seconds": 10, "policy": "evict_oldest", "max-batch": 7})");
  environment env;
  SECTION("file only") {
    const auto loaded = load_worker({"--config", file}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.lease_seconds == 10);
    CHECK(loaded->config.default_policy == policy::evict_oldest);
    CHECK(loaded->config.max_batch == 7);
  }
  SECTION("environment over file") {
    env.set("STREAMGATE_LEASE_SECONDS", "20");
    const auto loaded = load_worker({"--config", file}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.lease_seconds == 20);
    CHECK(loaded->config.default_policy == policy::evict_oldest);
  }
  SECTION("flags over environment and file") {
    env.set("STREAMGATE_LEASE_SECONDS", "20");
    env.set("STREAMGATE_POLICY", "deny");
    const auto loaded = load_worker({"--config", file, "--lease-seconds", "30"}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.lease_seconds == 30);
    CHECK(loaded->config.default_policy == policy::deny);
    CHECK(loaded->config.max_batch == 7);
  }
  SECTION("the file named in the environment") {
    env.set("STREAMGATE_CONFIG", file);
    const auto loaded = load_worker({}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.lease_seconds == 10);
  }
  SECTION("an empty variable counts as unset") {
    env.set("STREAMGATE_LEASE_SECONDS", "");
    const auto loaded = load_worker({"--config", file}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.lease_seconds == 10);
  }
}

TEST_CASE("the environment is asked only for the variables of known options", "[config]") {
  environment env;
  SECTION("worker") {
    REQUIRE(load_worker({}, env).has_value());
    std::set<std::string> expected{"STREAMGATE_CONFIG"};
    for (const std::string& flag : worker_flags) expected.insert(environment_name(flag));
    CHECK(env.asked() == expected);
  }
  SECTION("api") {
    REQUIRE(load_api({}, env).has_value());
    std::set<std::string> expected{"STREAMGATE_CONFIG"};
    for (const std::string& flag : api_flags) expected.insert(environment_name(flag));
    CHECK(env.asked() == expected);
  }
}

TEST_CASE("bad worker flags are refused with the value quoted", "[config]") {
  auto [flags, expected] = GENERATE_REF(table<std::vector<std::string>, std::string>({
      {{"--lease-seconds", "abc"},
       "bad value 'abc' for --lease-seconds: expected an integer from 1 to 86400"},
      {{"--lease-seconds", "0"}, "bad value '0' for --lease-seconds"},
      {{"--lease-seconds", "86401"}, "bad value '86401' for --lease-seconds"},
      {{"--lease-seconds=-5"}, "bad value '-5' for --lease-seconds"},
      {{"--lease-seconds", "12x"}, "bad value '12x' for --lease-seconds"},
      {{"--lease-seconds", " 5"}, "bad value ' 5' for --lease-seconds"},
      {{"--lease-seconds", "99999999999999999999"},
       "bad value '99999999999999999999' for --lease-seconds"},
      {{"--default-max-streams", "0"},
       "bad value '0' for --default-max-streams: expected an integer from 1 to 1000"},
      {{"--default-max-streams", "1001"}, "bad value '1001' for --default-max-streams"},
      {{"--policy", "kick"},
       "bad value 'kick' for --policy: expected deny, evict_oldest or monitor"},
      {{"--audit-retention-days", "0"},
       "bad value '0' for --audit-retention-days: expected an integer from 1 to 3650"},
      {{"--request-memory-seconds", "604801"},
       "bad value '604801' for --request-memory-seconds: expected an integer from 600 to 604800"},
      {{"--request-memory-seconds", "599"}, "bad value '599' for --request-memory-seconds"},
      {{"--max-batch", "0"}, "bad value '0' for --max-batch: expected an integer from 1 to 100000"},
      {{"--max-batch", "100001"}, "bad value '100001' for --max-batch"},
      {{"--log-level", "loud"},
       "bad value 'loud' for --log-level: expected one of trace, debug, info, warn, error, off"},
      {{"--log-format", "xml"}, "bad value 'xml' for --log-format: expected text or json"},
      {{"--store", "mysql://db"},
       "bad value 'mysql://db' for --store: expected sqlite:<path> or "
       "redis://<host>:<port>[,<host>:<port>...]"},
      {{"--store", "redis://a:1,"}, "bad value 'redis://a:1,' for --store"},
      {{"--store", "redis://a:1,b"}, "bad value 'redis://a:1,b' for --store"},
      {{"--store", "sqlite:"}, "bad value 'sqlite:' for --store"},
      {{"--store", "redis://host"}, "bad value 'redis://host' for --store"},
      {{"--store", "redis://:6379"}, "bad value 'redis://:6379' for --store"},
      {{"--store", "redis://h:0"}, "bad value 'redis://h:0' for --store"},
      {{"--requests", ""},
       "bad value '' for --requests: expected a ZeroMQ endpoint tcp://<host>:<port> (a port from 1 "
       "to 65535) or ipc://<path>"},
      {{"--requests", "tcp://127.0.0.1:0"}, "bad value 'tcp://127.0.0.1:0' for --requests"},
      {{"--requests", "tcp://127.0.0.1:99999"}, "bad value 'tcp://127.0.0.1:99999' for --requests"},
      {{"--events", "tcp://127.0.0.1:*"}, "bad value 'tcp://127.0.0.1:*' for --events"},
      {{"--events", "tcp://127.0.0.1"}, "bad value 'tcp://127.0.0.1' for --events"},
      {{"--events", "inproc://ev"}, "bad value 'inproc://ev' for --events"},
      {{"--events", "ipc://"}, "bad value 'ipc://' for --events"},
      {{"--events", "localhost:5556"}, "bad value 'localhost:5556' for --events"},
      {{"--requests", "tcp://"}, "bad value 'tcp://' for --requests"},
      {{"--events", "://127.0.0.1:5556"}, "bad value '://127.0.0.1:5556' for --events"},
      {{"--catalog", ""}, "bad value '' for --catalog: expected a non-empty path"},
      {{"--lease-secs", "5"}, "unknown flag '--lease-secs'"},
      {{"--lease", "5"}, "unknown flag '--lease'"},
      {{"--listen", "127.0.0.1:8080"}, "unknown flag '--listen'"},
      {{"--lease-seconds"}, "lease-seconds"},
      {{"--lease-seconds", "5", "--lease-seconds", "6"}, "lease-seconds"},
  }));
  CAPTURE(flags);
  environment env;
  check_refused(load_worker(arguments(flags), env), expected);
}

TEST_CASE("a stray argument is refused", "[config]") {
  environment env;
  check_refused(load_worker({"--lease-seconds", "5", "extra"}, env), "unexpected argument 'extra'");
}

TEST_CASE("bad api flags are refused with the value quoted", "[config]") {
  auto [flags, expected] = GENERATE_REF(table<std::vector<std::string>, std::string>({
      {{"--listen", "localhost"},
       "bad value 'localhost' for --listen: expected <host>:<port> with a port from 1 to 65535"},
      {{"--listen", "localhost:0"}, "bad value 'localhost:0' for --listen"},
      {{"--listen", ":8080"}, "bad value ':8080' for --listen"},
      {{"--listen", "h:65536"}, "bad value 'h:65536' for --listen"},
      {{"--listen", "h:http"}, "bad value 'h:http' for --listen"},
      {{"--verdict-timeout-ms", "0"},
       "bad value '0' for --verdict-timeout-ms: expected an integer from 1 to 600000"},
      {{"--verdict-timeout-ms", "600001"}, "bad value '600001' for --verdict-timeout-ms"},
      {{"--io-threads", "0"}, "bad value '0' for --io-threads: expected an integer from 1 to 64"},
      {{"--io-threads", "65"}, "bad value '65' for --io-threads"},
      {{"--max-connections", "0"},
       "bad value '0' for --max-connections: expected an integer from 1 to 1000000"},
      {{"--max-connections-per-address", "-1"},
       "bad value '-1' for --max-connections-per-address: expected an integer from 0 to 1000000"},
      {{"--web-root", ""}, "bad value '' for --web-root: expected a non-empty path"},
      {{"--log-level", "verbose"}, "bad value 'verbose' for --log-level"},
      {{"--requests", "nowhere", "--events", "tcp://h:2"},
       "bad value 'nowhere' for --requests: expected a ZeroMQ endpoint"},
      {{"--store", "sqlite:x.db"}, "unknown flag '--store'"},
  }));
  CAPTURE(flags);
  environment env;
  check_refused(load_api(arguments(flags), env), expected);
}

TEST_CASE("a bad environment value is refused naming the variable", "[config]") {
  environment env;
  env.set("STREAMGATE_LEASE_SECONDS", "abc");
  check_refused(
      load_worker({}, env),
      "bad value 'abc' for STREAMGATE_LEASE_SECONDS: expected an integer from 1 to 86400");
  environment api_env;
  api_env.set("STREAMGATE_LISTEN", "nohost");
  check_refused(load_api({}, api_env), "bad value 'nohost' for STREAMGATE_LISTEN");
}

}  // namespace streamgate::config_test
