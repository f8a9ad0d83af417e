#pragma once

// The Redis store's packed values: catalog entries (sg:videos, sg:plans) and audit lines, read
// back by the same code that wrote them (a value that is not ours throws store_unavailable).
// Internal to the Redis store.

#include <algorithm>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "worker/store/redis/connection.hpp"
#include "worker/store/redis/redis_store_errors.hpp"
#include "worker/store/store.hpp"

namespace streamgate::redis_detail {

// An audit line without its user, whose list holds it: unpack_audit is given it back.
std::string pack_audit(const audit_entry& e);
audit_entry unpack_audit(std::string_view bytes, const std::string& user_id);
// A live stream, kept in its user's hash apart from the state (field t:<stream id>), without its
// lease (field e:<stream id>, pack_lease), which is all of it that changes. `place` orders a
// user's streams when loaded: the user's event number of the commit that wrote it, then its rank
// among the streams that commit wrote.
struct stream_place {
  std::uint64_t seq = 0;
  std::uint64_t rank = 0;

  auto operator<=>(const stream_place&) const = default;
};
std::string pack_stream(const stream& s, const std::string& owner, stream_place place);
// The stream (its lease left 0) and its place; `id` is the field's.
std::pair<stream, stream_place> unpack_stream(std::string id, std::string_view bytes,
                                              const std::string& owner);
std::string pack_lease(std::int64_t expires_at_ms);
std::int64_t unpack_lease(std::string_view bytes, const std::string& user_id);
std::string pack_video(const video& v);
video unpack_video(std::string id, std::string_view bytes);
std::string pack_plan(const plan& p);
plan unpack_plan(std::string id, std::string_view bytes);

// HGETALL's flat {field, value, ...} as pairs.
template <class Unpack>
auto unpack_hash(const redisReply& all, std::string_view what, Unpack unpack_one) {
  require_no_error(all, what);
  std::vector<decltype(unpack_one(std::string(), std::string_view()))> out;
  for (std::size_t i = 0; i + 1 < reply_size(all); i += 2)
    out.push_back(unpack_one(std::string(reply_string(reply_at(all, i))),
                             reply_string(reply_at(all, i + 1))));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

}  // namespace streamgate::redis_detail
