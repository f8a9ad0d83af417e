#include "free_port.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>

namespace streamgate::it {

namespace {

// Redis Cluster's bus listens on port + 10000 (tests/support/redis_cluster.cpp): that one stays
// below the kernel's ephemeral range as well.
constexpr int cluster_bus_offset = 10000;
constexpr int lowest_port = 10000;

// The first port the kernel hands out to a connect() of its own choosing.
int first_ephemeral_port() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  int first = 0;
  int last = 0;
  return range >> first >> last && first > lowest_port ? first : 32768;
}

bool can_bind(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  const bool bound = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return bound;
}

// The ports this process handed out, each held by a lock (flock) on a file named after it in a
// folder every test process shares, so that no other test process hands it out too: ctest runs
// cases side by side, and a port a stack leaves unbound for a moment (a worker restarted on its
// own ports) was free to another case's pick (a CI run lost a restart so). The locks go with the
// process; past max_held the oldest is let go, long after its stack (a stack takes a few dozen
// at most).
class port_reservations final {
 public:
  // False when another process holds it. True without a lock when the folder cannot be written:
  // the picks are then only as safe as before.
  bool take(unsigned short port) {
    const std::lock_guard<std::mutex> guard(lock_);
    std::error_code ignored;
    std::filesystem::create_directories(folder_, ignored);
    const std::string file = (folder_ / std::to_string(port)).string();
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) return true;
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd);
      return false;
    }
    held_.push_back({port, fd});
    if (held_.size() > max_held) {
      ::close(held_.front().fd);
      held_.pop_front();
    }
    return true;
  }
  void give_back(unsigned short port) {
    const std::lock_guard<std::mutex> guard(lock_);
    const auto it =
        std::find_if(held_.begin(), held_.end(), [port](const held& h) { return h.port == port; });
    if (it == held_.end()) return;
    ::close(it->fd);
    held_.erase(it);
  }

 private:
  struct held {
    unsigned short port;
    int fd;
  };
  static constexpr std::size_t max_held = 256;
  std::mutex lock_;
  std::filesystem::path folder_ = std::filesystem::temp_directory_path() / "streamgate-test-ports";
  std::deque<held> held_;
};

port_reservations& reservations() {
  static port_reservations the_reservations;
  return the_reservations;
}

}  // namespace

unsigned short free_port() {
  static thread_local std::minstd_rand random{std::random_device{}()};
  const int highest = std::max(lowest_port + 1, first_ephemeral_port() - cluster_bus_offset - 1);
  std::uniform_int_distribution<int> pick(lowest_port, highest);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<unsigned short>(pick(random));
    if (!reservations().take(port)) continue;
    if (can_bind(port)) return port;
    reservations().give_back(port);
  }
  throw std::runtime_error("no free loopback port below the ephemeral range");
}

}  // namespace streamgate::it
