#include "worker/store/redis/redis_server_settings.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "worker/store/redis/connection.hpp"
#include "worker/store/store.hpp"

namespace streamgate::redis_detail {

namespace {

struct required_setting {
  std::string_view name;
  std::string_view needed;
  std::string_view otherwise;  // what a server set otherwise does to the store
};

constexpr std::array<required_setting, 3> required_settings{{
    {"maxmemory-policy", "noeviction",
     "at maxmemory it evicts keys silently: users, their streams and request owners vanish"},
    {"appendonly", "yes", "a crash rolls the store back to its last snapshot"},
    {"appendfsync", "always", "a crash loses what was acknowledged but not yet synced"},
}};

// One CONFIG GET of them all (Redis 7 takes several parameters): one command per master per check.
std::vector<std::string> settings_command() {
  std::vector<std::string> args{"CONFIG", "GET"};
  for (const required_setting& s : required_settings) args.emplace_back(s.name);
  return args;
}

// Judges each master's reply to settings_command().
class server_settings_check final {
 public:
  // Throws store_lost naming the server and each setting not as needed, its value and the value
  // needed: the worker stops rather than publish what such a server may lose. A server that
  // refuses CONFIG (renamed or disabled by a managed Redis: an error reply) or leaves a setting
  // out of its reply cannot be verified: one warning per server, and it is served.
  void judge(const redis_address& server, const redisReply& reply) {
    if (reply_is_error(reply)) return unverifiable(server, reply_string(reply));
    const std::map<std::string, std::string, std::less<>> values = pairs_of(reply);
    std::string wrong, hidden;
    for (const required_setting& s : required_settings) {
      const auto found = values.find(s.name);
      if (found == values.end())
        hidden += (hidden.empty() ? "" : ", ") + std::string(s.name);
      else if (found->second != s.needed)
        wrong += (wrong.empty() ? "" : "; ") + std::string(s.name) + " is '" + found->second +
                 "', needs '" + std::string(s.needed) + "' (" + std::string(s.otherwise) + ")";
    }
    if (!wrong.empty())
      throw store_lost("redis " + to_string(server) + " may lose what it acknowledges: " + wrong +
                       "; not served (docs/design.md §8)");
    if (!hidden.empty()) unverifiable(server, "CONFIG GET does not show " + hidden);
  }

 private:
  // CONFIG GET's RESP2 reply: name, value, name, value, ... in no set order.
  static std::map<std::string, std::string, std::less<>> pairs_of(const redisReply& reply) {
    std::map<std::string, std::string, std::less<>> values;
    for (std::size_t i = 0; i + 1 < reply_size(reply); i += 2)
      values.emplace(reply_string(reply_at(reply, i)), reply_string(reply_at(reply, i + 1)));
    return values;
  }

  void unverifiable(const redis_address& server, std::string_view why) {
    if (!warned_.insert(to_string(server)).second) return;
    spdlog::warn(
        "redis {}: cannot verify that it keeps what it acknowledges ({}); it must run "
        "maxmemory-policy noeviction, appendonly yes and appendfsync always (docs/design.md §8)",
        to_string(server), why);
  }

  std::set<std::string> warned_;  // servers warned about already, so the periodic check is quiet
};

}  // namespace

// The check for the router (redis_node_check), its state shared by the copies the router makes.
redis_node_check durable_settings_check() {
  auto check = std::make_shared<server_settings_check>();
  return {settings_command(), [check](const redis_address& server, const redisReply& reply) {
            check->judge(server, reply);
          }};
}

}  // namespace streamgate::redis_detail
