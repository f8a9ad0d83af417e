#pragma once

// A blocking hiredis connection that pipelines: append() queues commands, get_reply() sends what
// is queued and reads the replies in order, so a batch of N commands costs one round trip.
// Errors of the connection (refused, reset, timeout) throw store_unavailable and leave the
// client disconnected until reconnect(); an error reply of Redis is a reply, not an exception.

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;
struct redisReply;

namespace streamgate {

struct redis_address {
  std::string host;
  int port = 6379;
  bool operator==(const redis_address&) const = default;
};

// "HOST:PORT", as messages name a server.
std::string to_string(const redis_address& address);

// "redis://HOST:PORT" (the port defaults to 6379); nullopt for anything else.
std::optional<redis_address> parse_redis_url(std::string_view url);

struct redis_reply_deleter {
  void operator()(redisReply* r) const;
};
using redis_reply_ptr = std::unique_ptr<redisReply, redis_reply_deleter>;

class redis_client final {
 public:
  // Connects at once; throws store_unavailable when it cannot.
  redis_client(redis_address address, std::chrono::milliseconds timeout);
  ~redis_client();
  redis_client(const redis_client&) = delete;
  redis_client& operator=(const redis_client&) = delete;

  // Queues one command; arguments are binary safe.
  void append(const std::vector<std::string_view>& args);
  // Sends what is queued without waiting for a reply, so that several nodes work on their
  // pipelines at once (redis_router); get_reply() sends it otherwise.
  void flush();
  redis_reply_ptr get_reply();
  redis_reply_ptr command(const std::vector<std::string_view>& args);
  bool connected() const { return context_ != nullptr; }
  // Drops the connection (and what was queued on it) and opens a new one; throws
  // store_unavailable when it cannot.
  void reconnect();

 private:
  [[noreturn]] void fail(std::string_view what);

  redis_address address_;
  std::chrono::milliseconds timeout_;
  redisContext* context_ = nullptr;
  std::string formatted_;  // append()'s buffer, kept for its capacity
};

// Reading replies: these throw store_unavailable on a reply of another type, which only a
// script or a Redis that is not the one expected would send.
std::string_view reply_string(const redisReply& r);  // status, string, error
long long reply_integer(const redisReply& r);        // integer, or a string holding one
bool reply_is_nil(const redisReply& r);
bool reply_is_error(const redisReply& r);
std::size_t reply_size(const redisReply& r);  // elements of an array
const redisReply& reply_at(const redisReply& r, std::size_t i);

}  // namespace streamgate
