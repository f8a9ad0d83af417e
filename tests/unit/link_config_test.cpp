// The worker link's CURVE options (docs/design.md §6): keys come from files, go in pairs, are
// never quoted back, and a worker without keys binds only loopback endpoints unless it is told
// --insecure-link. The handshakes themselves are tested with real processes
// (tests/integration/worker_link_test.cpp).

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/link_keys.hpp"
#include "common/loopback_endpoint.hpp"
#include "temp_dir.hpp"

namespace streamgate {
namespace {

// Key pairs from libzmq's CURVE documentation (valid Z85, 40 characters).
const std::string worker_public = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const std::string worker_secret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
const std::string api_public = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
const std::string api_secret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

class key_files final {
 public:
  std::string write(const std::string& name, const std::string& content) const {
    const std::filesystem::path file = dir_.path() / name;
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
  }
  std::string path(const std::string& name) const { return (dir_.path() / name).string(); }

 private:
  test::temp_dir dir_;
};

// argv as main gets it, and an environment holding only `variables`.
template <class Config>
result<command_line<Config>> load(const std::vector<std::string>& flags,
                                  std::map<std::string, std::string> variables = {}) {
  std::vector<const char*> argv{"program"};
  for (const std::string& flag : flags) argv.push_back(flag.c_str());
  const environment_lookup env = [&variables](const char* name) -> const char* {
    const auto found = variables.find(name);
    return found == variables.end() ? nullptr : found->second.c_str();
  };
  if constexpr (std::is_same_v<Config, worker_config>)
    return load_worker_config(static_cast<int>(argv.size()), argv.data(), env);
  else
    return load_api_config(static_cast<int>(argv.size()), argv.data(), env);
}

template <class T>
void check_refused(const result<T>& loaded, const std::string& expected) {
  CAPTURE(expected);
  REQUIRE_FALSE(loaded.has_value());
  CHECK(loaded.error().code == error_code::bad_request);
  CHECK_THAT(loaded.error().message, Catch::Contains(expected));
}

}  // namespace

TEST_CASE("a Z85 key is 40 characters of the Z85 alphabet, each group below 2^32",
          "[config][link]") {
  CHECK(is_z85_key(worker_public));
  CHECK(is_z85_key(api_secret));
  CHECK(is_z85_key(std::string(40, '0')));
  CHECK(is_z85_key(std::string("%nSc0").append(35, '0')));  // 0xFFFFFFFF, the largest group
  const std::string bad = GENERATE(std::string(), std::string(39, 'a'), std::string(41, 'a'),
                                   std::string(39, 'a') + " ", std::string(39, 'a') + "\"",
                                   std::string("%nSc1").append(35, '0'),  // 2^32: overflows
                                   std::string(40, '#'));           // 85^5 - 1 a group
  CAPTURE(bad);
  CHECK_FALSE(is_z85_key(bad));
}

TEST_CASE("only ipc, inproc and tcp on a loopback address count as loopback endpoints",
          "[config][link]") {
  const auto [endpoint, loopback] = GENERATE(table<std::string, bool>({
      {"tcp://127.0.0.1:5555", true},
      {"tcp://127.1.2.3:5555", true},
      {"tcp://[::1]:5555", true},
      {"tcp://localhost:5555", true},
      {"tcp://127.0.0.1:*", true},
      {"ipc:///tmp/streamgate.sock", true},
      {"inproc://worker", true},
      {"tcp://0.0.0.0:5555", false},
      {"tcp://*:5555", false},
      {"tcp://[::]:5555", false},
      {"tcp://10.0.0.2:5555", false},
      {"tcp://eth0:5555", false},
      {"tcp://lo:5555", false},
      {"tcp://worker1:5555", false},
      {"tcp://127.0.0.1.example.com:5555", false},
      {"tcp://127.0.0.256:5555", false},
      {"tcp://127.0.0:5555", false},
      {"tcp://127.0.0.1", false},
      {"ws://127.0.0.1:5555", false},
      {"pgm://127.0.0.1;239.192.1.1:5555", false},
  }));
  CAPTURE(endpoint);
  CHECK(is_loopback_endpoint(endpoint) == loopback);
}

TEST_CASE("a worker reads its CURVE key and the allowed apis from files", "[config][link]") {
  key_files files;
  const std::string secret = files.write("worker.key", std::string("  ").append(worker_secret).append("\n"));
  const std::string allowed = files.write(
      "allowed-apis",
      std::string("# the apis\n\n") + api_public + "\r\n  " + worker_public + "  \n#no space\n");
  SECTION("from flags") {
    const auto loaded = load<worker_config>(
        {"--curve-secret-key-file", secret, "--curve-allowed-clients-file", allowed});
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.link_keys.secret_key == worker_secret);
    CHECK(loaded->config.link_keys.allowed_clients ==
          std::vector<std::string>{api_public, worker_public});
    CHECK_FALSE(loaded->config.insecure_link);
  }
  SECTION("from the environment, on a non-loopback endpoint") {
    const auto loaded = load<worker_config>({"--requests", "tcp://0.0.0.0:5555"},
                                            {{"STREAMGATE_CURVE_SECRET_KEY_FILE", secret},
                                             {"STREAMGATE_CURVE_ALLOWED_CLIENTS_FILE", allowed}});
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.link_keys.secret_key == worker_secret);
    CHECK(loaded->config.bind.requests == "tcp://0.0.0.0:5555");
  }
  SECTION("one without the other is refused") {
    check_refused(load<worker_config>({"--curve-secret-key-file", secret}),
                  "--curve-secret-key-file and --curve-allowed-clients-file go together");
    check_refused(load<worker_config>({"--curve-allowed-clients-file", allowed}),
                  "--curve-secret-key-file and --curve-allowed-clients-file go together");
  }
}

TEST_CASE("a worker without CURVE keys binds a non-loopback endpoint only with --insecure-link",
          "[config][link]") {
  SECTION("loopback endpoints need no keys") {
    CHECK(load<worker_config>({}).has_value());
    CHECK(load<worker_config>({"--requests", "tcp://[::1]:6000", "--events", "ipc:///tmp/ev"})
              .has_value());
  }
  SECTION("any other endpoint is refused, naming it and the way out") {
    const auto [flags, expected] = GENERATE(table<std::vector<std::string>, std::string>({
        {{"--requests", "tcp://0.0.0.0:5555"},
         "--requests 'tcp://0.0.0.0:5555' can be reached from other hosts"},
        {{"--events", "tcp://*:5556"}, "--events 'tcp://*:5556' can be reached from other hosts"},
        {{"--requests", "tcp://10.1.2.3:5555"}, "--requests 'tcp://10.1.2.3:5555'"},
        {{"--requests", "tcp://0.0.0.0:5555", "--insecure-link=false"}, "--insecure-link"},
    }));
    CAPTURE(flags);
    const auto loaded = load<worker_config>(flags);
    check_refused(loaded, expected);
    CHECK_THAT(loaded.error().message, Catch::Contains("--curve-secret-key-file"));
  }
  SECTION("--insecure-link lets it start, from a flag, the environment or a config file") {
    key_files files;
    const std::vector<std::string> flags{"--requests", "tcp://0.0.0.0:5555", "--events",
                                         "tcp://0.0.0.0:5556"};
    auto with_flag = flags;
    with_flag.push_back("--insecure-link");
    const auto from_flag = load<worker_config>(with_flag);
    REQUIRE(from_flag.has_value());
    CHECK(from_flag->config.insecure_link);
    const auto from_env = load<worker_config>(flags, {{"STREAMGATE_INSECURE_LINK", "true"}});
    REQUIRE(from_env.has_value());
    CHECK(from_env->config.insecure_link);
    auto with_file = flags;
    with_file.push_back("--config");
    with_file.push_back(files.write("worker.json", R"({"insecure-link": true})"));
    const auto from_file = load<worker_config>(with_file);
    REQUIRE(from_file.has_value());
    CHECK(from_file->config.insecure_link);
  }
  SECTION("--insecure-link is true or false") {
    check_refused(load<worker_config>({"--insecure-link=yes"}),
                  "bad value 'yes' for --insecure-link: expected true or false");
    check_refused(load<worker_config>({}, {{"STREAMGATE_INSECURE_LINK", "1"}}),
                  "bad value '1' for STREAMGATE_INSECURE_LINK");
  }
}

TEST_CASE("bad key files are refused naming the file, never quoting a key", "[config][link]") {
  key_files files;
  const std::string allowed = files.write("allowed-apis", api_public + "\n");
  const std::string almost = worker_secret.substr(0, 39);
  SECTION("a secret key file") {
    // Contents, written into this run's directory (a generator outlives the run that made it).
    const auto [name, content, expected] =
        GENERATE_COPY(table<std::string, std::string, std::string>({
            {"missing.key", "", "cannot read"},
            {"short.key", almost + "\n", "does not hold a CURVE key"},
            {"two.key", worker_secret + "\n" + worker_secret + "\n", "does not hold a CURVE key"},
            {"empty.key", "", "does not hold a CURVE key"},
            {"huge.key", std::string(100000, 'a'), "is larger than"},
            {"", "", "is a directory"},
        }));
    const std::string file =
        name == "missing.key" || name.empty() ? files.path(name) : files.write(name, content);
    CAPTURE(file);
    const auto worker = load<worker_config>(
        {"--curve-secret-key-file", file, "--curve-allowed-clients-file", allowed});
    check_refused(worker, "--curve-secret-key-file: ");
    CHECK_THAT(worker.error().message, Catch::Contains(expected));
    CHECK(worker.error().message.find(almost) == std::string::npos);
    const auto api = load<api_config>({"--curve-secret-key-file", file,
                                       "--curve-worker-public-key-file",
                                       files.write("worker.pub", worker_public)});
    check_refused(api, "--curve-secret-key-file: ");
    CHECK(api.error().message.find(almost) == std::string::npos);
  }
  SECTION("an allowed-clients file names a bad line by its number") {
    const std::string secret = files.write("worker.key", worker_secret);
    const auto bad_line = load<worker_config>(
        {"--curve-secret-key-file", secret, "--curve-allowed-clients-file",
         files.write("bad-apis", std::string("# apis\n") + api_public + "\n" + almost + "\n")});
    check_refused(bad_line, "--curve-allowed-clients-file: line 3 of '");
    CHECK(bad_line.error().message.find(almost) == std::string::npos);
    check_refused(load<worker_config>({"--curve-secret-key-file", secret,
                                       "--curve-allowed-clients-file",
                                       files.write("no-apis", "# none yet\n\n")}),
                  "lists no public key");
  }
}

TEST_CASE("an api reads its CURVE key and the workers' public key from files, together",
          "[config][link]") {
  key_files files;
  const std::string secret = files.write("api.key", api_secret + "\n");
  const std::string worker = files.write("worker.pub", worker_public + "\n");
  SECTION("both") {
    const auto loaded = load<api_config>(
        {"--curve-secret-key-file", secret, "--curve-worker-public-key-file", worker});
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.link_keys.secret_key == api_secret);
    CHECK(loaded->config.link_keys.worker_public_key == worker_public);
  }
  SECTION("none: a plain link") {
    const auto loaded = load<api_config>({});
    REQUIRE(loaded.has_value());
    CHECK(loaded->config.link_keys.secret_key.empty());
    CHECK(loaded->config.link_keys.worker_public_key.empty());
  }
  SECTION("one without the other is refused") {
    check_refused(load<api_config>({"--curve-secret-key-file", secret}),
                  "--curve-secret-key-file and --curve-worker-public-key-file go together");
    check_refused(load<api_config>({}, {{"STREAMGATE_CURVE_WORKER_PUBLIC_KEY_FILE", worker}}),
                  "--curve-secret-key-file and --curve-worker-public-key-file go together");
  }
  SECTION("a bad public key file names its source") {
    check_refused(load<api_config>({"--curve-secret-key-file", secret},
                                   {{"STREAMGATE_CURVE_WORKER_PUBLIC_KEY_FILE",
                                     files.write("bad.pub", "not a key")}}),
                  "STREAMGATE_CURVE_WORKER_PUBLIC_KEY_FILE: '");
  }
}

}  // namespace streamgate
