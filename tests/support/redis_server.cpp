#include "redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "free_port.hpp"
#include "wait.hpp"

#ifndef STREAMGATE_REDIS_SERVER_BIN
#error "STREAMGATE_REDIS_SERVER_BIN must name the redis-server program"
#endif

namespace streamgate::it {

namespace {

constexpr std::chrono::seconds start_timeout{10};

std::string tail(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  constexpr std::size_t keep = 2000;
  return all.size() > keep ? all.substr(all.size() - keep) : all;
}

}  // namespace

redis_server::redis_server(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  // A free port can be taken before redis binds it: try a few.
  for (int attempt = 1;; ++attempt) {
    port_ = free_port();
    try {
      start();
      return;
    } catch (const std::exception&) {
      process_.reset();
      if (attempt == 3) throw;
    }
  }
}

redis_server::~redis_server() = default;

void redis_server::start() {
  if (running()) throw std::logic_error("redis_server::start: still running");
  // AOF with fsync on every write: a decision Redis acknowledged survives a kill -9 of Redis,
  // which is what the restart test checks. No RDB snapshots (--save ''): the AOF is the data.
  process_ = std::make_unique<process>(
      STREAMGATE_REDIS_SERVER_BIN,
      std::vector<std::string>{"--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                               "--appendonly", "yes", "--appendfsync", "always", "--dir",
                               dir_.string(), "--daemonize", "no"},
      dir_, dir_ / "redis.log");
  const bool up = wait_until(
      [this] {
        if (!process_->running()) return true;  // reported below
        return ping();
      },
      start_timeout);
  if (!up || !process_->running())
    throw std::runtime_error("redis-server on port " + std::to_string(port_) + " " +
                             process_->exit_description() + ", not answering PING; its output:\n" +
                             log_tail());
}

void redis_server::kill9() {
  if (process_) process_->kill9();
}

void redis_server::pause() {
  if (process_) process_->pause();
}

void redis_server::resume() {
  if (process_) process_->resume();
}

bool redis_server::ping() const {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port_);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool pong = false;
  timeval timeout{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
    constexpr std::string_view request = "PING\r\n";
    char answer[16] = {};
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()) &&
        ::recv(fd, answer, sizeof answer - 1, 0) > 0)
      pong = std::string_view(answer).starts_with("+PONG");
  }
  ::close(fd);
  return pong;
}

std::string redis_server::log_tail() const { return tail(dir_ / "redis.log"); }

}  // namespace streamgate::it
