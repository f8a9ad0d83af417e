#include "redis_cluster.hpp"

#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "free_port.hpp"
#include "wait.hpp"

#ifndef STREAMGATE_REDIS_SERVER_BIN
#error "STREAMGATE_REDIS_SERVER_BIN must name the redis-server program"
#endif

namespace streamgate::it {

namespace {

constexpr std::chrono::seconds start_timeout{10};
// After a restart the node waits about 2 s before it calls itself ok (a rebooted master gives
// the cluster a chance to reconfigure it); a node another one marked as failed takes longer.
constexpr std::chrono::seconds ok_timeout{60};
// Each node's cluster bus listens on its port + 10000, which must be a port too.
constexpr unsigned short bus_offset = 10000;
constexpr unsigned short highest_port = 55000;

std::string tail(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::ostringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  constexpr std::size_t keep = 2000;
  return all.size() > keep ? all.substr(all.size() - keep) : all;
}

bool port_free(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
  ::close(fd);
  return bound;
}

// A free port whose bus port is free too, and clear of the other nodes' ports and bus ports.
unsigned short free_node_port(const std::vector<unsigned short>& taken) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const unsigned short port = free_port();
    if (port >= highest_port || !port_free(port + bus_offset)) continue;
    bool clash = false;
    for (const unsigned short t : taken)
      clash = clash || port == t || port == t + bus_offset || port + bus_offset == t;
    if (!clash) return port;
  }
  throw std::runtime_error("no free port below " + std::to_string(highest_port) +
                           " with its cluster bus port free");
}

// One command on a new connection; nullopt when the node does not answer with a string.
std::optional<std::string> ask(unsigned short port, const char* command) {
  const timeval timeout{1, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (c == nullptr) return std::nullopt;
  std::optional<std::string> answer;
  if (c->err == 0 && redisSetTimeout(c, timeout) == REDIS_OK) {
    auto* reply = static_cast<redisReply*>(redisCommand(c, command));
    if (reply != nullptr &&
        (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS))
      answer = std::string(reply->str, reply->len);
    if (reply != nullptr) freeReplyObject(reply);
  }
  redisFree(c);
  return answer;
}

// One command (its arguments as given) on a new connection; throws when the node does not
// answer, or answers an error.
std::unique_ptr<redisReply, void (*)(void*)> run(unsigned short port,
                                                 const std::vector<std::string>& args) {
  const timeval timeout{5, 0};
  std::unique_ptr<redisContext, void (*)(redisContext*)> c(
      redisConnectWithTimeout("127.0.0.1", port, timeout), redisFree);
  if (c == nullptr || c->err != 0 || redisSetTimeout(c.get(), timeout) != REDIS_OK)
    throw std::runtime_error("no cluster node answers on port " + std::to_string(port));
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const std::string& a : args) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  std::unique_ptr<redisReply, void (*)(void*)> reply(
      static_cast<redisReply*>(
          redisCommandArgv(c.get(), static_cast<int>(argv.size()), argv.data(), lengths.data())),
      freeReplyObject);
  if (!reply || reply->type == REDIS_REPLY_ERROR)
    throw std::runtime_error("the cluster node on port " + std::to_string(port) + " refused " +
                             args.front() + (reply ? ": " + std::string(reply->str) : ""));
  return reply;
}

std::string text_of(const redisReply& r) { return std::string(r.str, r.len); }

}  // namespace

redis_cluster::redis_cluster(std::filesystem::path dir) : dir_(std::move(dir)) {
  std::filesystem::create_directories(dir_);
  for (std::size_t i = 0; i < node_count; ++i) add_node();
  create();
  wait_until_ok();
}

void redis_cluster::add_node() {
  std::vector<unsigned short> taken;
  for (const node_state& n : nodes_) taken.push_back(n.port);
  node_state& n = nodes_.emplace_back();
  n.dir = dir_ / ("node-" + std::to_string(nodes_.size() - 1));
  // A free port can be taken before redis binds it: try a few, each time in a clean directory so
  // no nodes.conf of a failed attempt is left behind.
  for (int attempt = 1;; ++attempt) {
    n.port = free_node_port(taken);
    std::filesystem::remove_all(n.dir);
    std::filesystem::create_directories(n.dir);
    try {
      start(n);
      return;
    } catch (const std::exception&) {
      n.server.reset();
      if (attempt == 3) throw;
    }
  }
}

std::size_t redis_cluster::add_replica(std::size_t master) {
  add_node();
  const std::size_t replica = nodes_.size() - 1;
  const std::string master_id = text_of(*run(port(master), {"CLUSTER", "MYID"}));
  command(replica, "CLUSTER MEET 127.0.0.1 " + std::to_string(port(master)));
  // It can replicate a master only once it knows it.
  const bool met = wait_until(
      [&] {
        const auto nodes = ask(port(replica), "CLUSTER NODES");
        return nodes && nodes->find(master_id) != std::string::npos;
      },
      ok_timeout);
  if (!met) throw std::runtime_error("a new cluster node never met its master:\n" + logs());
  command(replica, "CLUSTER REPLICATE " + master_id);
  const bool connected = wait_until(
      [&] {
        // A master's ROLE: ["master", offset, [[host, port, offset], ...]], online replicas only.
        const auto role = run(port(master), {"ROLE"});
        return role->elements == 3 && role->element[2]->elements == 1;
      },
      ok_timeout);
  if (!connected) throw std::runtime_error("the replica never connected:\n" + logs());
  wait_until_ok();
  return replica;
}

void redis_cluster::take_over(std::size_t replica) {
  disturbed_ = true;
  command(replica, "CLUSTER FAILOVER TAKEOVER");
  const bool master = wait_until(
      [&] { return text_of(*run(port(replica), {"ROLE"})->element[0]) == "master"; }, ok_timeout);
  if (!master) throw std::runtime_error("the replica never took over:\n" + logs());
  wait_until_ok();
}

void redis_cluster::pause(std::size_t node) {
  disturbed_ = true;
  nodes_.at(node).server->pause();
}

void redis_cluster::resume(std::size_t node) { nodes_.at(node).server->resume(); }

redis_cluster::~redis_cluster() = default;

std::string redis_cluster::url() const {
  std::string out = "redis://";
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    out += (i == 0 ? "" : ",") + std::string("127.0.0.1:") + std::to_string(nodes_[i].port);
  return out;
}

std::string redis_cluster::node_url(std::size_t node) const {
  return "redis://127.0.0.1:" + std::to_string(port(node));
}

void redis_cluster::start(node_state& n) {
  // As redis_server: AOF with fsync on every write, so what a node acknowledged survives its
  // kill -9; no RDB snapshots. nodes.conf holds the node's id and the cluster it belongs to,
  // which is what lets a restarted node take its slots back.
  n.server = std::make_unique<process>(
      STREAMGATE_REDIS_SERVER_BIN,
      std::vector<std::string>{"--port", std::to_string(n.port), "--bind", "127.0.0.1", "--save",
                               "", "--appendonly", "yes", "--appendfsync", "always", "--dir",
                               n.dir.string(), "--daemonize", "no", "--cluster-enabled", "yes",
                               "--cluster-config-file", (n.dir / "nodes.conf").string()},
      n.dir, n.dir / "redis.log");
  const bool up = wait_until([&n] { return !n.server->running() || ask(n.port, "PING") == "PONG"; },
                             start_timeout);
  if (!up || !n.server->running())
    throw std::runtime_error("redis-server (cluster node) on port " + std::to_string(n.port) + " " +
                             n.server->exit_description() + ", not answering PING; its output:\n" +
                             tail(n.dir / "redis.log"));
}

// The cluster redis-cli --cluster create would make (each master a third of the slots, in the
// same ranges, a config epoch of its own, then one MEET per pair), made by the same commands sent
// directly: redis-cli waits for the nodes to join in steps of a whole second, which cost every
// cluster test about four seconds. A node still calls itself ok only 2 s after it started.
void redis_cluster::create() {
  constexpr std::size_t slots = 16384;
  std::size_t first = 0;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    // Rounded to the nearest slot, as redis-cli does: 0-5460, 5461-10922, 10923-16383.
    const std::size_t last = (slots * (i + 1) + node_count / 2) / node_count - 1;
    command(i, "CLUSTER ADDSLOTSRANGE " + std::to_string(first) + " " + std::to_string(last));
    command(i, "CLUSTER SET-CONFIG-EPOCH " + std::to_string(i + 1));
    first = last + 1;
  }
  // Every pair meets directly, so no node waits to hear of another through gossip.
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    for (std::size_t j = i + 1; j < nodes_.size(); ++j)
      command(i, "CLUSTER MEET 127.0.0.1 " + std::to_string(nodes_[j].port));
}

void redis_cluster::command(std::size_t node, const std::string& text) {
  const auto answer = ask(nodes_.at(node).port, text.c_str());
  if (answer != "OK")
    throw std::runtime_error("the cluster node on port " + std::to_string(port(node)) +
                             " did not answer OK to " + text + "; the nodes' output:\n" + logs());
}

void redis_cluster::wait_until_ok() {
  const bool ok = wait_until(
      [this] {
        for (const node_state& n : nodes_) {
          if (!n.server || !n.server->running()) continue;
          const auto info = ask(n.port, "CLUSTER INFO");
          if (!info || info->find("cluster_state:ok") == std::string::npos) return false;
        }
        return true;
      },
      ok_timeout);
  if (!ok) throw std::runtime_error("the redis cluster is not ok; its nodes' output:\n" + logs());
}

std::size_t redis_cluster::owner_of(std::uint16_t slot) const {
  // [[first, last, [host, port, id], replicas...], ...]
  const auto slots = run(port(0), {"CLUSTER", "SLOTS"});
  for (std::size_t r = 0; r < slots->elements; ++r) {
    const redisReply& range = *slots->element[r];
    if (range.element[0]->integer <= slot && slot <= range.element[1]->integer)
      for (std::size_t n = 0; n < nodes_.size(); ++n)
        if (nodes_[n].port == range.element[2]->element[1]->integer) return n;
  }
  throw std::runtime_error("no master serves slot " + std::to_string(slot));
}

std::uint16_t redis_cluster::slot_of(const std::string& key) const {
  const auto slot = run(port(0), {"CLUSTER", "KEYSLOT", key});
  if (slot->type != REDIS_REPLY_INTEGER)
    throw std::runtime_error("CLUSTER KEYSLOT " + key + " gave no slot");
  return static_cast<std::uint16_t>(slot->integer);
}

void redis_cluster::configure(const std::string& name, const std::string& value) {
  for (const node_state& n : nodes_) {
    if (!n.server || !n.server->running()) continue;
    const auto answer = run(n.port, {"CONFIG", "SET", name, value});
    if (answer->type != REDIS_REPLY_STATUS)
      throw std::runtime_error("the cluster node on port " + std::to_string(n.port) +
                               " refused CONFIG SET " + name + " " + value);
  }
}

void redis_cluster::move_slot(std::uint16_t slot, std::size_t to) {
  const std::size_t from = owner_of(slot);
  const std::string number = std::to_string(slot);
  const std::string from_id = text_of(*run(port(from), {"CLUSTER", "MYID"}));
  const std::string to_id = text_of(*run(port(to), {"CLUSTER", "MYID"}));
  run(port(to), {"CLUSTER", "SETSLOT", number, "IMPORTING", from_id});
  run(port(from), {"CLUSTER", "SETSLOT", number, "MIGRATING", to_id});
  const auto keys = run(port(from), {"CLUSTER", "GETKEYSINSLOT", number, "1000"});
  if (keys->elements > 0) {
    std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(port(to)), "", "0",
                                     "5000",    "KEYS"};
    for (std::size_t k = 0; k < keys->elements; ++k) migrate.push_back(text_of(*keys->element[k]));
    run(port(from), migrate);
  }
  for (std::size_t n = 0; n < nodes_.size(); ++n)
    run(port(n), {"CLUSTER", "SETSLOT", number, "NODE", to_id});
}

void redis_cluster::empty() {
  for (std::size_t i = 0; i < node_count; ++i) {
    command(i, "FLUSHALL SYNC");
    command(i, "SCRIPT FLUSH SYNC");
  }
  wait_until_ok();
}

void redis_cluster::kill9(std::size_t node) {
  disturbed_ = true;
  auto& server = nodes_.at(node).server;
  if (server) server->kill9();
}

void redis_cluster::restart(std::size_t node) {
  if (running(node)) throw std::logic_error("redis_cluster::restart: node still running");
  start(nodes_.at(node));
  wait_until_ok();
}

bool redis_cluster::running(std::size_t node) {
  const auto& server = nodes_.at(node).server;
  return server && server->running();
}

std::string redis_cluster::logs() const {
  std::string out;
  for (const node_state& n : nodes_)
    out += "--- node on port " + std::to_string(n.port) + ":\n" + tail(n.dir / "redis.log") + "\n";
  return out;
}

}  // namespace streamgate::it
