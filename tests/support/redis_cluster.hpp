#pragma once

// A real three-master Redis Cluster for one test, on free loopback ports, each node's data (AOF
// on, fsync always) and nodes.conf in a directory of the test's. A test may give a master a
// replica, and make it take over. One node can be killed with SIGKILL and restarted on the same
// port with the same data, as a crash and an operator's restart would. The destructor stops
// every node.
//
// Needs STREAMGATE_REDIS_SERVER_BIN (as redis_server does) as a string literal, e.g.
// -DSTREAMGATE_REDIS_SERVER_BIN='"/usr/bin/redis-server"'; and links to hiredis, which assigns
// the slots, makes the nodes meet and asks them for CLUSTER INFO.

#include <cstddef>
#include <cstdint>
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

  // Nodes 0 to 2 are the masters made at creation; replicas added follow.
  unsigned short port(std::size_t node) const { return nodes_.at(node).port; }
  // Where the nodes keep their files; left in place when the cluster is destroyed.
  const std::filesystem::path& dir() const { return dir_; }
  // "redis://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3", the worker's --store for the cluster.
  std::string url() const;
  std::string node_url(std::size_t node) const;

  // Deletes every key and script on every node, so the cluster holds what a new one would; then
  // waits until every node says cluster_state:ok.
  void empty();
  // Whether a node was ever killed: what its restart left behind is not a new cluster's state.
  bool disturbed() const { return disturbed_; }

  // Adds a node that replicates `master`, and returns its number once the master names it a
  // connected replica and every node says cluster_state:ok.
  std::size_t add_replica(std::size_t master);
  // The replica takes its master's slots over at once, without its master's agreement (CLUSTER
  // FAILOVER TAKEOVER), as an operator does for a master that is gone; returns once it serves as
  // a master and every running node says cluster_state:ok.
  void take_over(std::size_t replica);
  // SIGSTOP / SIGCONT: a node that hangs with its connections open.
  void pause(std::size_t node);
  void resume(std::size_t node);

  // SIGKILL without warning; waits until the node is gone.
  void kill9(std::size_t node);
  // Starts a killed node again on its port with its data, and returns once every node says
  // cluster_state:ok again.
  void restart(std::size_t node);
  bool running(std::size_t node);
  // Throws with every node's output when some running node does not say cluster_state:ok in time.
  void wait_until_ok();
  // The node that serves `slot`, as node 0's map says.
  std::size_t owner_of(std::uint16_t slot) const;
  // The slot of `key`, as node 0 computes it (CLUSTER KEYSLOT).
  std::uint16_t slot_of(const std::string& key) const;
  // CONFIG SET `name` `value` on every running node (a node restarted has its own again).
  void configure(const std::string& name, const std::string& value);
  // Moves `slot` with its keys from its owner to node `to`, as redis-cli --cluster reshard does
  // (IMPORTING, MIGRATING, MIGRATE ... KEYS, then the new owner on every node).
  void move_slot(std::uint16_t slot, std::size_t to);
  // The nodes' output, for a failure message.
  std::string logs() const;

 private:
  struct node_state {
    unsigned short port = 0;
    std::filesystem::path dir;
    std::unique_ptr<process> server;
  };

  void start(node_state& n);
  // A new node in its own directory on a free port (a few tries), started.
  void add_node();
  void create();
  // Sends `text` to the node; throws unless it answers OK.
  void command(std::size_t node, const std::string& text);

  std::filesystem::path dir_;
  std::vector<node_state> nodes_;
  bool disturbed_ = false;
};

}  // namespace streamgate::it
