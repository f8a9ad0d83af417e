#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <poll.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>

extern char** environ;

namespace streamgate::it {

namespace {

// The children get the test's environment minus STREAMGATE_* variables: every flag also reads
// one, and a stray variable in a developer's shell must not change what a test runs.
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (std::string_view(*e).starts_with("STREAMGATE_")) continue;
    env.emplace_back(*e);
  }
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

process::process(std::filesystem::path program, std::vector<std::string> args,
                 std::filesystem::path working_dir, std::filesystem::path log_file,
                 std::vector<std::string> more_env)
    : program_(std::move(program)), args_(std::move(args)), log_file_(std::move(log_file)) {
  if (!std::filesystem::exists(program_))
    throw std::runtime_error("program not found: " + program_.string());

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file_.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  // Nothing else of the test's: Asio opens its sockets without close-on-exec, and a socket a child
  // inherits stays open when the test closes it (a relay that drops a link would not drop it).
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawn_file_actions_addchdir_np(&actions, working_dir.c_str());

  // The test binary ignores SIGPIPE; the child starts with default signal handling.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGINT);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> argv_strings;
  argv_strings.push_back(program_.string());
  argv_strings.insert(argv_strings.end(), args_.begin(), args_.end());
  auto argv = c_strings(argv_strings);
  auto env_strings = child_environment();
  env_strings.insert(env_strings.end(), more_env.begin(), more_env.end());
  auto envp = c_strings(env_strings);

  const int rc = posix_spawn(&pid_, program_.c_str(), &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + program_.string() + ": " + std::strerror(rc));
  }
}

process::~process() {
  if (pid_ > 0 && !wait_status_) stop();
}

bool process::running() {
  if (pid_ <= 0 || wait_status_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    wait_status_ = status;
    return false;
  }
  return r == 0;
}

bool process::wait_for_exit(std::chrono::milliseconds timeout) {
  if (!running()) return true;
  // A pidfd becomes readable when the child exits: one poll with the deadline, no sleeping.
  // (syscall: Debian 12's <sys/pidfd.h> lacks extern "C", so its wrapper does not link from C++.)
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd < 0) throw std::runtime_error(std::string("pidfd_open: ") + std::strerror(errno));
  pollfd exited{pidfd, POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&exited, 1, static_cast<int>(timeout.count()));
  } while (ready < 0 && errno == EINTR);
  ::close(pidfd);
  return ready > 0 && !running();
}

int process::stop(std::chrono::milliseconds grace) {
  if (running()) {
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);  // a paused child would only see the SIGTERM when resumed
    paused_ = false;
    if (!wait_for_exit(grace)) {
      ::kill(pid_, SIGKILL);
      wait_for_exit(std::chrono::seconds(30));
    }
  }
  return wait_status_.value_or(-1);
}

void process::kill9() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    wait_for_exit(std::chrono::seconds(30));
  }
}

void process::pause() {
  if (paused_ || !running()) return;
  ::kill(pid_, SIGSTOP);
  // kill() returns before the child has stopped: its stop report says it has, so what the test
  // does next meets a hung process, not one still finishing its work. (Reported once per stop:
  // paused_ keeps a second pause from waiting for a report that never comes.)
  int status = 0;
  pid_t r = 0;
  do {
    r = ::waitpid(pid_, &status, WUNTRACED);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
  if (WIFSTOPPED(status))
    paused_ = true;
  else
    wait_status_ = status;  // it exited before the signal came
}

void process::resume() {
  if (running()) ::kill(pid_, SIGCONT);
  paused_ = false;
}

std::optional<int> process::exit_code() const {
  if (wait_status_ && WIFEXITED(*wait_status_)) return WEXITSTATUS(*wait_status_);
  return std::nullopt;
}

std::string process::exit_description() const {
  if (!wait_status_) return "running";
  if (WIFEXITED(*wait_status_)) return "exited with " + std::to_string(WEXITSTATUS(*wait_status_));
  if (WIFSIGNALED(*wait_status_))
    return "killed by signal " + std::to_string(WTERMSIG(*wait_status_)) + " (" +
           ::strsignal(WTERMSIG(*wait_status_)) + ")";
  return "ended with wait status " + std::to_string(*wait_status_);
}

std::string process::command_line() const {
  std::string line = program_.string();
  for (const auto& a : args_) line += " " + a;
  return line;
}

}  // namespace streamgate::it
