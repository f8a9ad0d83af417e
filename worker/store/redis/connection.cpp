#include "worker/store/redis/connection.hpp"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <charconv>
#include <string>

#include "worker/store/store.hpp"

namespace streamgate {

std::optional<redis_address> parse_redis_url(std::string_view url) {
  constexpr std::string_view scheme = "redis://";
  if (!url.starts_with(scheme)) return std::nullopt;
  url.remove_prefix(scheme.size());
  if (!url.empty() && url.back() == '/') url.remove_suffix(1);
  redis_address address;
  const auto colon = url.rfind(':');
  if (colon == std::string_view::npos) {
    address.host = std::string(url);
  } else {
    address.host = std::string(url.substr(0, colon));
    const std::string_view port = url.substr(colon + 1);
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), address.port);
    if (ec != std::errc{} || end != port.data() + port.size() || address.port < 1 ||
        address.port > 65535)
      return std::nullopt;
  }
  if (address.host.empty()) return std::nullopt;
  return address;
}

void redis_reply_deleter::operator()(redisReply* r) const { freeReplyObject(r); }

redis_client::redis_client(redis_address address, std::chrono::milliseconds timeout)
    : address_(std::move(address)), timeout_(timeout) {
  reconnect();
}

redis_client::~redis_client() {
  if (context_ != nullptr) redisFree(context_);
}

void redis_client::reconnect() {
  if (context_ != nullptr) redisFree(context_);
  const timeval tv{static_cast<time_t>(timeout_.count() / 1000),
                   static_cast<suseconds_t>((timeout_.count() % 1000) * 1000)};
  context_ = redisConnectWithTimeout(address_.host.c_str(), address_.port, tv);
  if (context_ == nullptr) fail("cannot allocate a connection");
  if (context_->err != 0) fail("cannot connect");
  // The same bound for every reply: a Redis that hangs must not hang the worker forever.
  if (redisSetTimeout(context_, tv) != REDIS_OK) fail("cannot set the timeout");
}

std::string to_string(const redis_address& address) {
  return address.host + ':' + std::to_string(address.port);
}

void redis_client::fail(std::string_view what) {
  std::string message = "redis " + to_string(address_) + ": " + std::string(what);
  if (context_ != nullptr) {
    if (context_->err != 0) message += std::string(": ") + context_->errstr;
    redisFree(context_);
    context_ = nullptr;
  }
  throw store_unavailable(message);
}

void redis_client::append(const std::vector<std::string_view>& args) {
  if (context_ == nullptr) fail("not connected");
  // Formatted here rather than by redisAppendCommandArgv, whose printf-like headers and second
  // copy were a tenth of a Redis worker's CPU (a batch's commit is one command of thousands of
  // arguments): RESP is an array header, then per argument its length and bytes.
  std::size_t size = 16;
  for (std::string_view a : args) size += a.size() + 24;
  std::string& out = formatted_;
  out.clear();
  out.reserve(size);
  const auto header = [&out](char kind, std::size_t n) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out += kind;
    out.append(digits, end);
    out += "\r\n";
  };
  header('*', args.size());
  for (std::string_view a : args) {
    header('$', a.size());
    out += a;
    out += "\r\n";
  }
  if (redisAppendFormattedCommand(context_, out.data(), out.size()) != REDIS_OK)
    fail("cannot queue a command");
}

void redis_client::flush() {
  if (context_ == nullptr) fail("not connected");
  // A blocking context writes until the buffer is empty or the timeout passes.
  for (int done = 0; done == 0;)
    if (redisBufferWrite(context_, &done) != REDIS_OK) fail("connection lost");
}

redis_reply_ptr redis_client::get_reply() {
  if (context_ == nullptr) fail("not connected");
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) fail("connection lost");
  return redis_reply_ptr(static_cast<redisReply*>(raw));
}

redis_reply_ptr redis_client::command(const std::vector<std::string_view>& args) {
  append(args);
  return get_reply();
}

namespace {

[[noreturn]] void unexpected(const redisReply& r, std::string_view wanted) {
  std::string message =
      "redis: expected " + std::string(wanted) + ", got reply type " + std::to_string(r.type);
  if (r.type == REDIS_REPLY_ERROR) message += ": " + std::string(r.str, r.len);
  throw store_unavailable(message);
}

}  // namespace

std::string_view reply_string(const redisReply& r) {
  if (r.type != REDIS_REPLY_STRING && r.type != REDIS_REPLY_STATUS && r.type != REDIS_REPLY_ERROR)
    unexpected(r, "a string");
  return {r.str, r.len};
}

long long reply_integer(const redisReply& r) {
  if (r.type == REDIS_REPLY_INTEGER) return r.integer;
  if (r.type == REDIS_REPLY_STRING) {
    long long value = 0;
    const auto [end, ec] = std::from_chars(r.str, r.str + r.len, value);
    if (ec == std::errc{} && end == r.str + r.len) return value;
  }
  unexpected(r, "an integer");
}

bool reply_is_nil(const redisReply& r) { return r.type == REDIS_REPLY_NIL; }
bool reply_is_error(const redisReply& r) { return r.type == REDIS_REPLY_ERROR; }

std::size_t reply_size(const redisReply& r) {
  if (r.type != REDIS_REPLY_ARRAY) unexpected(r, "an array");
  return r.elements;
}

const redisReply& reply_at(const redisReply& r, std::size_t i) {
  if (r.type != REDIS_REPLY_ARRAY || i >= r.elements) unexpected(r, "a longer array");
  return *r.element[i];
}

}  // namespace streamgate
