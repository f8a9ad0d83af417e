// Operators' mistakes at start-up (common/config, common/bounded_file): the real programs refuse a
// --config that is a directory or a device, a --catalog that is one, a quoted number in a config
// file, a --listen that is no address, an empty Redis without --seed and a worker started at the
// same moment as one with other settings, with a message naming the value and exit status 2,
// instead of aborting on an exception or reading without end; --listen localhost:PORT serves.

#include <stdlib.h>  // mkdtemp

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "free_port.hpp"
#include "helpers.hpp"
#include "process.hpp"
#include "redis_server.hpp"
#include "stack.hpp"
#include "wait.hpp"

using namespace streamgate::it;

namespace {

namespace fs = std::filesystem;

// A fresh directory under /tmp, removed with everything in it at the end.
class scratch_dir final {
 public:
  scratch_dir() {
    std::string pattern = "/tmp/streamgate-bad-config-XXXXXX";
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~scratch_dir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;

  const fs::path& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(path_ / name, std::ios::binary) << content;
    return (path_ / name).string();
  }

 private:
  fs::path path_;
};

struct bad_start {
  std::string name;
  bool api;  // else the worker
  std::vector<std::string> args;
  std::string said;  // the output must contain it
};

}  // namespace

TEST_CASE("a bad --config, --catalog or --listen stops a program at once with a message",
          "[integration][config]") {
  const scratch_dir dir;
  const std::string directory = dir.path().string();
  const std::string quoted = dir.write("quoted.json", R"({"lease-seconds": "90"})");
  const std::string store = "sqlite:" + (dir.path() / "store.db").string();
  // Generated once for every run of the case: the rows are built from this run's directory.
  const std::vector<bad_start> rows{{
      {"api, --config a directory", true, {"--config", directory}, "is a directory"},
      {"worker, --config a directory", false, {"--config", directory}, "is a directory"},
      {"api, --config /dev/zero", true, {"--config", "/dev/zero"}, "larger than 1 MiB"},
      {"worker, --config /dev/zero", false, {"--config", "/dev/zero"}, "larger than 1 MiB"},
      {"worker, --catalog /dev/zero", false, {"--store", store, "--catalog", "/dev/zero"},
       "'/dev/zero' for --catalog"},
      {"worker, --catalog a directory", false, {"--store", store, "--catalog", directory},
       "for --catalog"},
      {"worker, a quoted number", false, {"--config", quoted}, "'lease-seconds' in config file"},
      {"api, --listen a name", true, {"--listen", "nohost.example:8080"},
       "'nohost.example:8080' for --listen"},
      {"api, --listen no address", true, {"--listen", "999.1.1.1:8080"},
       "'999.1.1.1:8080' for --listen"},
  }};
  const bad_start& c = rows.at(GENERATE(range(std::size_t{0}, std::size_t{9})));
  CAPTURE(c.name);
  const fs::path log = dir.path() / "output.log";
  process program(c.api ? api_program() : worker_program(), c.args, dir.path(), log);
  REQUIRE(wait_until([&] { return !program.running(); }, 10s));
  const std::string output = file_text(log);
  INFO("output: " << output);
  CHECK(program.exit_description() == "exited with 2");
  CHECK(output.find(c.said) != std::string::npos);
  CHECK(output.find("terminate called") == std::string::npos);
}

TEST_CASE("an api told --listen localhost:PORT serves on 127.0.0.1", "[integration][config]") {
  const scratch_dir dir;
  const unsigned short port = free_port();
  // No worker: the api serves its files and its health without one.
  process api(api_program(),
              {"--listen", "localhost:" + std::to_string(port), "--requests",
               "tcp://127.0.0.1:" + std::to_string(free_port()), "--events",
               "tcp://127.0.0.1:" + std::to_string(free_port()), "--web-root", STREAMGATE_WEB_ROOT},
              dir.path(), dir.path() / "api.log");
  std::string last = "no answer";
  const bool serving = wait_until(
      [&] {
        REQUIRE(api.running());
        try {
          http_client probe(port, 2s);
          const auto r = probe.get("/");
          last = r.describe();
          return r.status == 200;
        } catch (const http_error& e) {
          last = e.what();
          return false;
        }
      },
      20s);
  INFO("last: " << last << "\noutput: " << file_text(dir.path() / "api.log"));
  CHECK(serving);
}

TEST_CASE("a worker seeds an empty Redis only when told --seed, so one that lost its data stays refused",
          "[integration][config]") {
  const scratch_dir dir;
  redis_server redis(dir.path() / "redis");
  int run = 0;
  // One worker's life: its own log; `args` after the common ones.
  const auto start_worker = [&](std::vector<std::string> args) {
    std::vector<std::string> all{"--requests", "tcp://127.0.0.1:" + std::to_string(free_port()),
                                 "--events",   "tcp://127.0.0.1:" + std::to_string(free_port()),
                                 "--store",    redis.url(),
                                 "--catalog",  STREAMGATE_CATALOG};
    all.insert(all.end(), args.begin(), args.end());
    const fs::path log = dir.path() / ("worker-" + std::to_string(++run) + ".log");
    return std::make_unique<process>(worker_program(), all, dir.path(), log);
  };
  const auto check_refused = [&] {
    auto worker = start_worker({});
    REQUIRE(wait_until([&] { return !worker->running(); }, 10s));
    const std::string output = file_text(worker->log_file());
    INFO("output: " << output);
    CHECK(worker->exit_description() == "exited with 2");
    CHECK(output.find("holds no dataset") != std::string::npos);
    CHECK(output.find("--seed") != std::string::npos);
  };
  // Serves (logs that it started), then stops cleanly; `loaded` whether it seeded.
  const auto check_serves = [&](std::vector<std::string> args, bool loaded) {
    auto worker = start_worker(std::move(args));
    std::string output;
    REQUIRE(wait_until(
        [&] {
          REQUIRE(worker->running());
          output = file_text(worker->log_file());
          return output.find("streamgate-worker started") != std::string::npos;
        },
        10s));
    INFO("output: " << output);
    CHECK((output.find("loaded the catalog") != std::string::npos) == loaded);
    CHECK(worker->stop() == 0);
  };

  check_refused();                  // a new Redis
  check_serves({"--seed"}, true);   // told to: seeds it
  check_serves({}, false);          // seeded: any worker serves it
  check_serves({"--seed"}, false);  // --seed never seeds twice

  // Redis loses its data (a restart without persistence, a FLUSHALL): nothing re-seeds it unasked.
  process flush(STREAMGATE_REDIS_CLI_BIN, {"-p", std::to_string(redis.port()), "FLUSHALL"},
                dir.path(), dir.path() / "redis-cli.log");
  REQUIRE(wait_until([&] { return !flush.running(); }, 10s));
  REQUIRE(flush.exit_description() == "exited with 0");
  check_refused();
}

TEST_CASE(
    "of two workers started at once on one Redis with other settings, one serves and the "
    "other is refused before it serves",
    "[integration][config]") {
  const scratch_dir dir;
  redis_server redis(dir.path() / "redis");
  const auto start_worker = [&](const std::string& limit) {
    const std::vector<std::string> args{
        "--requests", "tcp://127.0.0.1:" + std::to_string(free_port()),
        "--events",   "tcp://127.0.0.1:" + std::to_string(free_port()),
        "--store",    redis.url(),
        "--catalog",  STREAMGATE_CATALOG,
        "--seed",     "--default-max-streams",
        limit};
    return std::make_unique<process>(worker_program(), args, dir.path(),
                                     dir.path() / ("worker-" + limit + ".log"));
  };
  auto three = start_worker("3");
  auto five = start_worker("5");
  REQUIRE(wait_until([&] { return !three->running() || !five->running(); }, 20s));
  const bool three_serves = three->running();
  process& refused = three_serves ? *five : *three;
  process& serving = three_serves ? *three : *five;
  const std::string said = file_text(refused.log_file());
  INFO("refused: " << said);
  CHECK(refused.exit_description() == "exited with 2");
  CHECK(said.find("give every worker the same ones") != std::string::npos);
  CHECK(said.find("streamgate-worker started") == std::string::npos);
  CHECK(wait_until(
      [&] {
        REQUIRE(serving.running());
        return file_text(serving.log_file()).find("streamgate-worker started") != std::string::npos;
      },
      20s));
  CHECK(serving.stop() == 0);
}
