#pragma once

// A real three-master Redis Cluster for one test (no replicas), on free loopback ports, each
// node's data (AOF on, fsync always) and nodes.conf in a directory of the test's. One node can be
// killed with SIGKILL and restarted on the same port with the same data, as a crash and an
// operator's restart would. The destructor stops every node.
//
// Needs STREAMGATE_REDIS_SERVER_BIN (as redis_server does) and STREAMGATE_REDIS_CLI_BIN, the
// redis-cli program that creates the cluster (`redis-cli --cluster create`), both as string
// literals, e.g. -DSTREAMGATE_REDIS_CLI_BIN='"/usr/bin/redis-cli"'; and links to hiredis, which
// asks the nodes for CLUSTER INFO.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"

namespace streamgate::it {

class redis_cluster final {
 public:
  static constexpr std::size_t node_count = 3;

  // Starts the nodes in `dir` (created), creates the cluster and returns once every node says
  // cluster_state:ok. Throws with the nodes' output when that does not happen in time.
  explicit redis_cluster(std::filesystem::path dir);
  ~redis_cluster();
  redis_cluster(const redis_cluster&) = delete;
  redis_cluster& operator=(const redis_cluster&) = delete;

  unsigned short port(std::size_t node) const { return nodes_.at(node).port; }
  // "redis://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3", the worker's --store for the cluster.
  std::string url() const;
  std::string node_url(std::size_t node) const;

  // SIGKILL without warning; waits until the node is gone.
  void kill9(std::size_t node);
  // Starts a killed node again on its port with its data, and returns once every node says
  // cluster_state:ok again.
  void restart(std::size_t node);
  bool running(std::size_t node);
  // Throws with every node's output when some node does not say cluster_state:ok in time.
  void wait_until_ok();
  // The nodes' output, for a failure message.
  std::string logs() const;

 private:
  struct node_state {
    unsigned short port = 0;
    std::filesystem::path dir;
    std::unique_ptr<process> server;
  };

  void start(node_state& n);
  void create();

  std::filesystem::path dir_;
  std::vector<node_state> nodes_;
};

}  // namespace streamgate::it
