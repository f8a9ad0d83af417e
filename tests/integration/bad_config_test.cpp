// Operators' mistakes at start-up (common/config, common/bounded_file): the real programs refuse a
// --config that is a directory or a device, a --catalog that is one, a quoted number in a config
// file and a --listen that is no address, with a message naming the value and exit status 2,
// instead of aborting on an exception or reading without end; --listen localhost:PORT serves.

#include <stdlib.h>  // mkdtemp

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "free_port.hpp"
#include "helpers.hpp"
#include "process.hpp"
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

std::string file_text(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

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
