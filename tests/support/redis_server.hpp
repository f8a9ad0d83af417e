#pragma once

// A real redis-server for one test, on a free loopback port, its data (AOF on) in a directory
// of the test's: the Redis store is tested against the real thing, never a fake. Restartable on
// the same port and data, as an operator's restart or a crash would be.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "process.hpp"

namespace streamgate::it {

class redis_server final {
 public:
  // Starts it in `dir` (created) and returns once it answers PING. Throws with its output when
  // it does not within the timeout.
  explicit redis_server(std::filesystem::path dir);
  ~redis_server();
  redis_server(const redis_server&) = delete;
  redis_server& operator=(const redis_server&) = delete;

  unsigned short port() const { return port_; }
  std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }

  // Where it keeps its data (the AOF in appendonlydir/).
  const std::filesystem::path& dir() const { return dir_; }

  void start();
  void kill9();
  // SIGSTOP / SIGCONT: a Redis that hangs with its connections open, as a stalled host would.
  void pause();
  void resume();
  bool running() { return process_ && process_->running(); }
  // One PING on a new connection: true when it answered +PONG.
  bool ping() const;
  std::string log_tail() const;

 private:
  std::filesystem::path dir_;
  unsigned short port_ = 0;
  std::unique_ptr<process> process_;
};

}  // namespace streamgate::it
