#include "free_port.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
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

}  // namespace

unsigned short free_port() {
  static thread_local std::minstd_rand random{std::random_device{}()};
  const int highest = std::max(lowest_port + 1, first_ephemeral_port() - cluster_bus_offset - 1);
  std::uniform_int_distribution<int> pick(lowest_port, highest);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<unsigned short>(pick(random));
    if (can_bind(port)) return port;
  }
  throw std::runtime_error("no free loopback port below the ephemeral range");
}

}  // namespace streamgate::it
