// The programs' options (common/config): config files, addresses, paired endpoints and secrets.

#include "config_test_support.hpp"

namespace streamgate::config_test {

TEST_CASE("bad config files are refused with the key and file quoted", "[config]") {
  const temp_dir dir;
  auto [content, expected] = GENERATE(table<std::string, std::string>({
      {R"({"lease_secs": 5})", "unknown key 'lease_secs' in config file '"},
      {R"({"config": "other.json"})", "unknown key 'config' in config file '"},
      {R"({"help": true})", "unknown key 'help' in config file '"},
      {R"({"lease-seconds": "abc"})", "bad value 'abc' for 'lease-seconds' in config file '"},
      {R"({"lease-seconds": 1.5})", "bad value '1.5' for 'lease-seconds' in config file '"},
      {R"({"lease-seconds": true})", "bad value 'true' for 'lease-seconds' in config file '"},
      {R"({"lease-seconds": {"value": 5}})", "bad value for 'lease-seconds' in config file '"},
      {R"({"lease-seconds": null})", "bad value for 'lease-seconds' in config file '"},
      {R"({"requests": ["tcp://a:1"]})", "bad value for 'requests' in config file '"},
      {R"({"lease-seconds": 5, "lease-seconds": 6})", "key 'lease-seconds' appears twice"},
      {R"({"lease-seconds": 5)", "is not valid JSON"},
      {R"([{"lease-seconds": 5}])", "must hold a JSON object"},
      {"", "is not valid JSON"},
  }));
  CAPTURE(content);
  const std::string file = dir.write("bad.json", content);
  environment env;
  const auto loaded = load_worker({"--config", file}, env);
  check_refused(loaded, expected);
  if (!loaded) CHECK_THAT(loaded.error().message, Catch::Contains(file));
}

TEST_CASE("a bad value from the file names the expectation too", "[config]") {
  const temp_dir dir;
  const std::string file = dir.write("policy.json", R"({"policy": "kick"})");
  environment env;
  check_refused(load_worker({"--config", file}, env),
                "bad value 'kick' for 'policy' in config file '" + file +
                    "': expected deny, evict_oldest or monitor");
}

TEST_CASE("a quoted number for an integer key of a config file is refused naming the key",
          "[config]") {
  const temp_dir dir;
  environment env;
  const std::string quoted = dir.write("quoted.json", R"({"lease-seconds": "90"})");
  check_refused(load_worker({"--config", quoted}, env),
                "bad value '90' for 'lease-seconds' in config file '" + quoted +
                    "': expected an integer from 1 to 86400 as a JSON number, not a string");
  const std::string api_file = dir.write("api.json", R"({"io-threads": "4"})");
  check_refused(load_api({"--config", api_file}, env), "for 'io-threads' in config file");
  // Flags and the environment are text by nature; a file's number is a number.
  env.set("STREAMGATE_LEASE_SECONDS", "90");
  const auto from_environment = load_worker({"--config", quoted}, env);
  REQUIRE(from_environment.has_value());
  CHECK(from_environment->config.lease_seconds == 90);
  environment none;
  const auto from_flag = load_worker({"--config", quoted, "--lease-seconds", "45"}, none);
  REQUIRE(from_flag.has_value());
  CHECK(from_flag->config.lease_seconds == 45);
  const std::string number = dir.write("number.json", R"({"lease-seconds": 90})");
  environment clean;
  const auto from_file = load_worker({"--config", number}, clean);
  REQUIRE(from_file.has_value());
  CHECK(from_file->config.lease_seconds == 90);
}

TEST_CASE("a config file that is a directory, a device or over 1 MiB is refused, not read",
          "[config]") {
  const temp_dir dir;
  environment env;
  const std::string big =
      dir.write("big.json", "{\"lease-seconds\": 5" + std::string(1024 * 1024, ' ') + "}");
  const std::string directory = dir.path().string();
  // Generated once for every run of the case: the rows are built from this run's directory.
  const std::vector<std::pair<std::string, std::string>> rows{
      {directory, "config file '" + directory + "' is a directory"},
      {"/dev/zero", "config file '/dev/zero' is larger than 1 MiB"},
      {big, "config file '" + big + "' is larger than 1 MiB"},
  };
  const auto& [path, expected] = rows.at(GENERATE(range(std::size_t{0}, std::size_t{3})));
  CAPTURE(path);
  check_refused(load_worker({"--config", path}, env), expected);
  check_refused(load_api({"--config", path}, env), expected);
}

TEST_CASE(
    "a --catalog naming a directory, a device or a file over 64 MiB is refused, a missing "
    "one is not",
    "[config]") {
  const temp_dir dir;
  environment env;
  check_refused(load_worker({"--catalog", "/dev/zero"}, env),
                "bad value '/dev/zero' for --catalog: expected a JSON file");
  check_refused(load_worker({"--catalog", dir.path().string()}, env),
                "bad value '" + dir.path().string() + "' for --catalog");
  // Sparse: its size is what counts, not what it holds.
  const std::string at_cap = dir.write("at-cap.json", "");
  std::filesystem::resize_file(at_cap, 64u << 20);
  CHECK(load_worker({"--catalog", at_cap}, env).has_value());
  const std::string over_cap = dir.write("over-cap.json", "");
  std::filesystem::resize_file(over_cap, (64u << 20) + 1);
  check_refused(
      load_worker({"--catalog", over_cap}, env),
      "bad value '" + over_cap + "' for --catalog: expected a JSON file of at most 64 MiB");
  const auto missing = load_worker({"--catalog", "/nonexistent/catalog.json"}, env);
  REQUIRE(missing.has_value());
  CHECK(missing->config.catalog == "/nonexistent/catalog.json");
}

TEST_CASE("a --listen address is an IP address or localhost, any other value is named",
          "[config]") {
  environment env;
  SECTION("accepted") {
    const auto [listen, host] = GENERATE(table<std::string, std::string>({
        {"localhost:8080", "127.0.0.1"},
        {"127.0.0.2:8080", "127.0.0.2"},
        {"0.0.0.0:8080", "0.0.0.0"},
        {"[::1]:8080", "::1"},
        {"[::]:8080", "::"},
    }));
    CAPTURE(listen);
    const auto loaded = load_api({"--listen", listen}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.listen_host == host);
    CHECK(loaded->config.listen_port == 8080);
  }
  SECTION("refused") {
    const auto listen = GENERATE(as<std::string>{}, "example.com:8080", "999.1.1.1:8080",
                                 "1.2.3:8080", "[::g]:8080", "local host:8080");
    CAPTURE(listen);
    check_refused(load_api({"--listen", listen}, env),
                  "bad value '" + listen + "' for --listen: expected <host>:<port>");
  }
}

TEST_CASE("a missing config file is refused", "[config]") {
  environment env;
  check_refused(load_worker({"--config", "/nonexistent/streamgate.json"}, env),
                "cannot read config file '/nonexistent/streamgate.json'");
}

TEST_CASE("the help text (--help) lists every option with its environment variable", "[config]") {
  environment env;
  env.set("STREAMGATE_LEASE_SECONDS", "not checked when asking for help");
  SECTION("worker") {
    const auto loaded = load_worker({"--help"}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->help);
    for (const std::string& flag : worker_flags) {
      CAPTURE(flag);
      CHECK_THAT(loaded->help_text, Catch::Contains("--" + flag));
      CHECK_THAT(loaded->help_text, Catch::Contains(environment_name(flag)));
    }
    CHECK_THAT(loaded->help_text, Catch::Contains("--config"));
    CHECK_THAT(loaded->help_text, Catch::Contains("STREAMGATE_CONFIG"));
  }
  SECTION("api, short form") {
    const auto loaded = load_api({"-h"}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->help);
    for (const std::string& flag : api_flags) {
      CAPTURE(flag);
      CHECK_THAT(loaded->help_text, Catch::Contains("--" + flag));
      CHECK_THAT(loaded->help_text, Catch::Contains(environment_name(flag)));
    }
  }
}

TEST_CASE("an api pairs repeated --requests and --events in order", "[config]") {
  environment env;
  SECTION("from flags") {
    const auto loaded = load_api({"--requests", "tcp://w1:5555", "--events", "tcp://w1:5556",
                                  "--requests", "tcp://w2:5555", "--events", "tcp://w2:5556"},
                                 env);
    REQUIRE(loaded.has_value());
    const auto& workers = loaded->config.workers;
    REQUIRE(workers.size() == 2);
    CHECK(workers[0].requests == "tcp://w1:5555");
    CHECK(workers[0].events == "tcp://w1:5556");
    CHECK(workers[1].requests == "tcp://w2:5555");
    CHECK(workers[1].events == "tcp://w2:5556");
  }
  SECTION("from the environment, comma-separated") {
    env.set("STREAMGATE_REQUESTS", "tcp://w1:5555,tcp://w2:5555");
    env.set("STREAMGATE_EVENTS", "tcp://w1:5556,tcp://w2:5556");
    const auto loaded = load_api({}, env);
    REQUIRE(loaded.has_value());
    REQUIRE(loaded->config.workers.size() == 2);
    CHECK(loaded->config.workers[1].events == "tcp://w2:5556");
  }
  SECTION("from file arrays, replaced as a whole by flags") {
    const temp_dir dir;
    const std::string file =
        dir.write("api.json", R"({"requests": ["tcp://a:1", "tcp://b:1", "tcp://c:1"],
                        "events": ["tcp://a:2", "tcp://b:2", "tcp://c:2"], "io-threads": 4})");
    const auto from_file = load_api({"--config", file}, env);
    REQUIRE(from_file.has_value());
    REQUIRE(from_file->config.workers.size() == 3);
    CHECK(from_file->config.workers[2].requests == "tcp://c:1");
    CHECK(from_file->config.io_threads == 4);

    const auto overridden =
        load_api({"--config", file, "--requests", "tcp://x:1", "--events", "tcp://x:2"}, env);
    REQUIRE(overridden.has_value());
    REQUIRE(overridden->config.workers.size() == 1);
    CHECK(overridden->config.workers[0].requests == "tcp://x:1");
    CHECK(overridden->config.workers[0].events == "tcp://x:2");
  }
}

TEST_CASE("an api refuses unpaired --requests and --events", "[config]") {
  environment env;
  SECTION("two requests, one events") {
    check_refused(
        load_api({"--requests", "tcp://w1:1", "--requests", "tcp://w2:1", "--events", "tcp://w1:2"},
                 env),
        "--requests is given 2 time(s) and --events 1 time(s)");
  }
  SECTION("empty lists in the file") {
    const temp_dir dir;
    const std::string file = dir.write("api.json", R"({"requests": [], "events": []})");
    check_refused(load_api({"--config", file}, env), "need at least one pair");
  }
  SECTION("requests alone") {
    check_refused(load_api({"--requests", "tcp://w1:1"}, env),
                  "--requests is given 1 time(s) and --events 0 time(s)");
  }
}

TEST_CASE("an api refuses a worker named twice", "[config]") {
  environment env;
  const auto [second_requests, second_events, named] =
      GENERATE(table<std::string, std::string, std::string>({
          {"tcp://w1:1", "tcp://w1:2", "tcp://w1:1"},
          {"tcp://w1:1", "tcp://w2:2", "tcp://w1:1"},
          {"tcp://w2:1", "tcp://w1:2", "tcp://w1:2"},
      }));
  check_refused(load_api({"--requests", "tcp://w1:1", "--events", "tcp://w1:2", "--requests",
                          second_requests, "--events", second_events},
                         env),
                "--requests and --events name the worker '" + named + "' twice");
}

TEST_CASE("token auth (--auth token) needs an admin token, which is never quoted back",
          "[config][auth]") {
  environment env;
  SECTION("auth is none unless asked for") {
    const auto loaded = load_api({}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.auth == "none");
    CHECK(loaded->config.admin_token.empty());
  }
  SECTION("token mode without an admin token is refused, naming the variable") {
    check_refused(load_api({"--auth", "token"}, env), "STREAMGATE_ADMIN_TOKEN");
  }
  SECTION("the admin token comes from the environment") {
    env.set("STREAMGATE_ADMIN_TOKEN", "0123456789abcdef-admin");
    const auto loaded = load_api({"--auth", "token"}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.auth == "token");
    CHECK(loaded->config.admin_token == "0123456789abcdef-admin");
  }
  SECTION("a short or unsendable admin token is refused without showing it") {
    const std::string bad = GENERATE(std::string("short-secret"), std::string(20, ' '),
                                     std::string("0123456789abcdef\"n"));
    env.set("STREAMGATE_ADMIN_TOKEN", bad);
    const auto loaded = load_api({"--auth", "token"}, env);
    check_refused(loaded, "STREAMGATE_ADMIN_TOKEN");
    CHECK(loaded.error().message.find(bad) == std::string::npos);
  }
  SECTION("an unknown mode is refused") {
    check_refused(load_api({"--auth", "basic"}, env), "'basic'");
  }
}

TEST_CASE("an api reads --allowed-origin in order and refuses what is not an origin",
          "[config][cross-site]") {
  environment env;
  SECTION("from flags") {
    const auto loaded = load_api({"--allowed-origin", "https://app.example.com", "--allowed-origin",
                                  "http://localhost:3000"},
                                 env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.allowed_origins ==
          std::vector<std::string>{"https://app.example.com", "http://localhost:3000"});
  }
  SECTION("from the environment, comma-separated") {
    env.set("STREAMGATE_ALLOWED_ORIGIN", "https://a.example,http://b.example:8080");
    const auto loaded = load_api({}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.allowed_origins ==
          std::vector<std::string>{"https://a.example", "http://b.example:8080"});
  }
  SECTION("none by default") {
    const auto loaded = load_api({}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.allowed_origins.empty());
  }
  SECTION("refused") {
    const auto bad = GENERATE(as<std::string>{}, "app.example.com", "https://app.example.com/",
                              "https://app.example.com/path", "*", "null", "ftp://a.example",
                              "https://", "http://user@a.example");
    CAPTURE(bad);
    check_refused(load_api({"--allowed-origin", bad}, env),
                  "bad value '" + bad + "' for --allowed-origin: expected an origin");
  }
}

TEST_CASE("the playback key comes from a file or the environment, and is never quoted back",
          "[config][playback]") {
  environment env;
  temp_dir dir;
  const std::string key(64, 'c');
  SECTION("none: a random key of the process") {
    const auto loaded = load_api({}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.playback_key_hex.empty());
    CHECK(loaded->config.media_root == "var/media");
    CHECK(loaded->config.playback_token_seconds == 60);
  }
  SECTION("from a file, its trailing newline ignored") {
    const auto loaded = load_api({"--playback-key-file", dir.write("key", key + "\n")}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.playback_key_hex == key);
  }
  SECTION("from the environment") {
    env.set("STREAMGATE_PLAYBACK_KEY", key);
    const auto loaded = load_api({}, env);
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.playback_key_hex == key);
  }
  SECTION("short, odd, not hex, or too long: refused without showing it") {
    const std::string bad = GENERATE(std::string(62, 'a'), std::string(65, 'a'),
                                     std::string(63, 'a') + "g", std::string(2000, 'a'));
    env.set("STREAMGATE_PLAYBACK_KEY", bad);
    const auto loaded = load_api({}, env);
    check_refused(loaded, "STREAMGATE_PLAYBACK_KEY");
    CHECK(loaded.error().message.find(bad) == std::string::npos);
    const auto from_file = load_api({"--playback-key-file", dir.write("bad", bad)}, env);
    check_refused(from_file, "--playback-key-file");
    CHECK(from_file.error().message.find(bad) == std::string::npos);
  }
  SECTION("a file that cannot be read, or a directory, is refused") {
    check_refused(load_api({"--playback-key-file", "/nonexistent/key"}, env), "cannot read");
    const auto folder = load_api({"--playback-key-file", "/tmp"}, env);
    REQUIRE_FALSE(folder.has_value());
  }
  SECTION("the token validity is bounded") {
    check_refused(load_api({"--playback-token-seconds", "1"}, env), "'1'");
    check_refused(load_api({"--playback-token-seconds", "3601"}, env), "'3601'");
  }
}

}  // namespace streamgate::config_test
