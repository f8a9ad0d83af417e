#pragma once

// A child program started with posix_spawn, its stdout and stderr appended to a log file, so a
// failing test can show what the program said. The destructor stops it: SIGTERM, a deadline for
// a clean exit, then SIGKILL, so no test leaves a process behind even when it fails midway.

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace streamgate::it {

class process final {
 public:
  // Starts `program args...` in `working_dir`, appending its output to `log_file`, with
  // `more_env` ("NAME=value") added to its environment (secrets a flag would show in ps).
  // Throws std::runtime_error when the program cannot be started.
  process(std::filesystem::path program, std::vector<std::string> args,
          std::filesystem::path working_dir, std::filesystem::path log_file,
          std::vector<std::string> more_env = {});
  ~process();

  process(const process&) = delete;
  process& operator=(const process&) = delete;

  pid_t pid() const { return pid_; }
  // True until the child exited (reaps it when it did, so the exit status is kept).
  bool running();
  // SIGTERM, then SIGKILL after `grace`. Returns the wait status (see exit_description).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // SIGKILL without warning, as a crash would; waits until the child is gone.
  void kill9();
  // SIGSTOP / SIGCONT: a process that hangs, with its sockets open, as a stalled host would.
  // pause() returns once the child has stopped.
  void pause();
  void resume();
  // "exited with 0", "killed by signal 9", "running".
  std::string exit_description() const;
  // The exit status when the child exited by itself with exit(), none otherwise.
  std::optional<int> exit_code() const;
  const std::filesystem::path& log_file() const { return log_file_; }
  std::string command_line() const;

 private:
  bool wait_for_exit(std::chrono::milliseconds timeout);

  std::filesystem::path program_;
  std::vector<std::string> args_;
  std::filesystem::path log_file_;
  pid_t pid_ = -1;
  std::optional<int> wait_status_;
  bool paused_ = false;
};

}  // namespace streamgate::it
