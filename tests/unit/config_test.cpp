#include "common/config.hpp"

#include <stdlib.h>  // mkdtemp

#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace streamgate {
namespace {

// argv as main gets it: the program name first, pointers that outlive the call.
class arguments final {
 public:
  arguments(std::initializer_list<std::string> flags)
      : arguments(std::vector<std::string>(flags)) {}
  explicit arguments(const std::vector<std::string>& flags) : text_{"program"} {
    text_.insert(text_.end(), flags.begin(), flags.end());
    for (const std::string& t : text_) pointers_.push_back(t.c_str());
  }
  // pointers_ point into text_, so the object stays where it was built.
  arguments(const arguments&) = delete;
  arguments& operator=(const arguments&) = delete;

  int argc() const { return static_cast<int>(pointers_.size()); }
  const char* const* argv() const { return pointers_.data(); }

 private:
  std::vector<std::string> text_;
  std::vector<const char*> pointers_;
};

// A fake environment that also records which names were asked for.
class environment final {
 public:
  environment_lookup lookup() {
    return [this](const char* name) -> const char* {
      asked_.insert(name);
      const auto found = variables_.find(name);
      return found == variables_.end() ? nullptr : found->second.c_str();
    };
  }
  void set(const std::string& name, const std::string& value) { variables_[name] = value; }
  const std::set<std::string>& asked() const { return asked_; }

 private:
  std::map<std::string, std::string> variables_;
  std::set<std::string> asked_;
};

// A fresh directory under /tmp for config files, removed with everything in it at the end.
class temp_dir final {
 public:
  temp_dir() {
    std::string pattern = "/tmp/streamgate-config-test-XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

  std::string write(const std::string& name, const std::string& content) const {
    const std::string file = (path_ / name).string();
    std::ofstream(file, std::ios::binary) << content;
    return file;
  }

 private:
  std::filesystem::path path_;
};

result<command_line<worker_config>> load_worker(const arguments& args, environment& env) {
  return load_worker_config(args.argc(), args.argv(), env.lookup());
}

result<command_line<api_config>> load_api(const arguments& args, environment& env) {
  return load_api_config(args.argc(), args.argv(), env.lookup());
}

template <class T>
void check_refused(const result<T>& loaded, const std::string& expected) {
  CAPTURE(expected);
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.error().code == error_code::bad_request);
  CHECK_THAT(loaded.error().message, Catch::Contains(expected));
}

const std::vector<std::string> worker_flags{"requests",      "events",
                                            "store",         "catalog",
                                            "lease-seconds", "default-max-streams",
                                            "policy",        "request-memory-seconds",
                                            "audit-retention-days", "audit-lines-per-user",
                                            "max-batch",     "log-level",
                                            "log-format",    "curve-secret-key-file",
                                            "curve-allowed-clients-file", "insecure-link", "seed"};
const std::vector<std::string> api_flags{"listen",     "requests",  "events",
                                         "web-root",   "docs-root", "verdict-timeout-ms",
                                         "io-threads", "log-level", "log-format",
                                         "accepted-start-ms",
                                         "max-connections", "max-connections-per-address",
                                         "auth", "admin-token",
                                         "allowed-origin", "media-root",
                                         "playback-token-seconds", "playback-key-file",
                                         "playback-key", "start-rate", "start-burst",
                                         "max-websockets-per-user", "curve-secret-key-file",
                                         "curve-worker-public-key-file"};

std::string environment_name(std::string flag) {
  for (char& c : flag) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return "STREAMGATE_" + flag;
}

}  // namespace

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
      {{"--policy", "kick"}, "bad value 'kick' for --policy: expected deny, evict_oldest or monitor"},
      {{"--audit-retention-days", "0"},
       "bad value '0' for --audit-retention-days: expected an integer from 1 to 3650"},
      {{"--request-memory-seconds", "604801"},
       "bad value '604801' for --request-memory-seconds: expected an integer from 1 to 604800"},
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
       "bad value '' for --requests: expected a ZeroMQ endpoint such as tcp://127.0.0.1:5555"},
      {{"--events", "localhost:5556"}, "bad value 'localhost:5556' for --events"},
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
  check_refused(
      load_worker({"--config", file}, env),
      "bad value 'kick' for 'policy' in config file '" + file + "': expected deny, evict_oldest or monitor");
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
  const std::string big = dir.write("big.json", "{\"lease-seconds\": 5" +
                                                    std::string(1024 * 1024, ' ') + "}");
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

TEST_CASE("a --catalog naming a directory or a device is refused, a missing one is not",
          "[config]") {
  const temp_dir dir;
  environment env;
  check_refused(load_worker({"--catalog", "/dev/zero"}, env),
                "bad value '/dev/zero' for --catalog: expected a JSON file");
  check_refused(load_worker({"--catalog", dir.path().string()}, env),
                "bad value '" + dir.path().string() + "' for --catalog");
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

TEST_CASE("token auth (--auth token) needs an admin token, which is never quoted back", "[config][auth]") {
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
    const auto loaded = load_api(
        {"--allowed-origin", "https://app.example.com", "--allowed-origin", "http://localhost:3000"},
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

}  // namespace streamgate
