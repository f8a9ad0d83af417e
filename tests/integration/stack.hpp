#pragma once

// One streamgate deployment for one test: a temp dir, free ports, a worker with its SQLite store
// there (or M workers sharing a redis-server of the test's own, with the Redis store), and one or
// more apis connected to every worker. The store is Redis (or a 3-master Redis Cluster) when the
// options ask for it or the environment has STREAMGATE_TEST_STORE=redis (or cluster): how CTest
// runs the suite on every store. The constructor returns once every api answers
// GET /health with 200; the destructor stops them (SIGTERM, then SIGKILL). Children can be
// killed and restarted on the same ports and store, as a crash and a restart would.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"
#include "redis_cluster.hpp"
#include "redis_server.hpp"
#include "tcp_relay.hpp"

namespace streamgate::it {

using namespace std::chrono_literals;

struct stack_options {
  std::optional<int> lease;            // --lease-seconds, the worker's default when none
  std::optional<int> verdict_timeout;  // --verdict-timeout-ms, the api's default when none
  int api_count = 1;
  int worker_count = 1;  // more than one needs the Redis store (or separate_stores)
  // Each worker its own SQLite file: a misconfiguration the apis must refuse (one dataset each).
  // The constructor returns once the apis serve worker 0's dataset and the others have started.
  bool separate_stores = false;
  bool redis = false;    // also when STREAMGATE_TEST_STORE=redis (or cluster)
  bool cluster = false;  // a 3-master Redis Cluster; also when STREAMGATE_TEST_STORE=cluster
  std::vector<std::string> more_worker_flags;
  std::vector<std::string> more_api_flags;
  std::vector<std::string> more_api_env;  // "NAME=value"
  std::chrono::milliseconds start_timeout = 20s;
  // This api reaches worker 0 through relays the test can pause: one for the worker's events
  // (stack::events_relay), one for its requests and replies (stack::requests_relay).
  std::optional<int> relayed_link_api;

  stack_options& lease_seconds(int seconds) {
    lease = seconds;
    return *this;
  }
  stack_options& verdict_timeout_ms(int ms) {
    verdict_timeout = ms;
    return *this;
  }
  stack_options& apis(int count) {
    api_count = count;
    return *this;
  }
  stack_options& workers(int count) {
    worker_count = count;
    return *this;
  }
  stack_options& redis_store() {
    redis = true;
    return *this;
  }
  stack_options& one_store_per_worker() {
    separate_stores = true;
    return *this;
  }
  stack_options& cluster_store() {
    redis = cluster = true;
    return *this;
  }
  stack_options& worker_args(std::vector<std::string> flags) {
    more_worker_flags = std::move(flags);
    return *this;
  }
  stack_options& api_args(std::vector<std::string> flags) {
    more_api_flags = std::move(flags);
    return *this;
  }
  stack_options& link_relayed_to(int api) {
    relayed_link_api = api;
    return *this;
  }
  // Added to the apis' environment (which otherwise holds no STREAMGATE_* variable).
  stack_options& api_env(std::vector<std::string> variables) {
    more_api_env = std::move(variables);
    return *this;
  }
};

// The programs under test: this build's, or the ones STREAMGATE_TEST_API_BIN and
// STREAMGATE_TEST_WORKER_BIN name, so one test binary can drive a sanitized build's programs.
std::string api_program();
std::string worker_program();

// A new temp dir, streamgate-it-XXXXXX under $TMPDIR (or /tmp).
std::filesystem::path make_temp_dir();

class stack final {
 public:
  explicit stack(stack_options options = {});
  ~stack();
  stack(const stack&) = delete;
  stack& operator=(const stack&) = delete;

  unsigned short http_port(int api = 0) const {
    return http_ports_.at(static_cast<std::size_t>(api));
  }
  unsigned short requests_port(int worker = 0) const {
    return requests_ports_.at(static_cast<std::size_t>(worker));
  }
  unsigned short events_port(int worker = 0) const {
    return events_ports_.at(static_cast<std::size_t>(worker));
  }
  const std::filesystem::path& dir() const { return dir_; }
  int worker_count() const { return options_.worker_count; }
  // The test's redis-server; null with the SQLite store or a cluster.
  redis_server* redis() { return redis_.get(); }
  // The test's Redis Cluster; null unless the store is one.
  redis_cluster* cluster() { return cluster_.get(); }
  // The relays of stack_options::link_relayed_to; each throws when the options asked for none.
  tcp_relay& events_relay();
  tcp_relay& requests_relay();

  // A worker, on the same ports and store each time.
  void start_worker(int worker = 0);
  // Until the worker started last logged that it serves (its signals are handled from then on),
  // or exited; false when neither happened within `timeout`.
  bool wait_worker_started(int worker = 0, std::chrono::milliseconds timeout = 20s);
  void stop_worker(int worker = 0);  // SIGTERM, a clean shutdown
  void kill9_worker(int worker = 0);
  void pause_worker(int worker = 0);  // SIGSTOP: hung, connections open
  void resume_worker(int worker = 0);
  bool worker_running(int worker = 0);
  std::string worker_exit(int worker = 0) const;

  void start_api(int api = 0);
  void stop_api(int api = 0);
  void kill9_api(int api = 0);
  bool api_running(int api = 0);
  std::string api_exit(int api = 0) const;

  // Polls GET /health on a new connection until it answers 200. Throws (with the programs'
  // output) when it does not within `timeout` or a program exited meanwhile.
  void wait_healthy(int api = 0, std::chrono::milliseconds timeout = 20s);
  void wait_all_healthy(std::chrono::milliseconds timeout = 20s);

  std::string worker_log_tail(int worker = 0) const;
  std::string api_log_tail(int api = 0) const;

 private:
  std::vector<std::string> worker_flags(int worker) const;
  std::filesystem::path worker_log(int worker) const;
  std::vector<std::string> api_flags(int api) const;
  std::filesystem::path api_log(int api) const;
  // What a worker's or an api's log holds since it was last started.
  std::string worker_said(int worker) const;
  std::string api_said(int api) const;
  void choose_ports();
  void check_alive(int api);
  // Polls each api's /metrics until it routes to every worker (stack.cpp says why).
  void wait_all_routing(std::chrono::milliseconds timeout);

  stack_options options_;
  std::filesystem::path dir_;
  int report_;                           // diagnostics.hpp
  std::unique_ptr<redis_server> redis_;  // before the workers, stopped after them
  std::unique_ptr<redis_cluster> cluster_;
  std::vector<unsigned short> requests_ports_;
  std::vector<unsigned short> events_ports_;
  std::vector<unsigned short> http_ports_;
  std::unique_ptr<tcp_relay> events_relay_;
  std::unique_ptr<tcp_relay> requests_relay_;
  std::vector<std::unique_ptr<process>> workers_;
  // Where each worker's log stood when it was last started (the log is appended to).
  std::vector<std::uintmax_t> worker_log_offsets_;
  std::vector<std::unique_ptr<process>> apis_;
  // The same for each api.
  std::vector<std::uintmax_t> api_log_offsets_;
};

}  // namespace streamgate::it
