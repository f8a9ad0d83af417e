// libFuzzer harness: the worker's message path. A request frame from the network is decoded and,
// when valid, decided by the real limiter through the real request handler, so a hostile or
// corrupt message can neither crash the worker nor break the limit.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "common/codec.hpp"
#include "worker/request_handler.hpp"
#include "worker/stream_limiter.hpp"

using namespace streamgate;

namespace {

stream_limiter make_limiter() {
  stream_limiter limiter{limiter_options{}};
  limiter.load_user(user{"alice", "Alice", std::nullopt, std::nullopt});
  limiter.load_user(user{"bob", "Bob", 1, policy::evict_oldest});
  limiter.load_video(video{"v01", "The Long Night", 3600});
  limiter.load_video(video{"v02", "Harbour Lights", 2700});
  return limiter;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // One limiter for the whole run: state built up by earlier inputs makes later ones reach
  // deeper paths (replays, evictions, stops of live streams).
  static stream_limiter limiter = make_limiter();
  static const request_handler handler;
  static std::int64_t clock_ms = 1'700'000'000'000;

  auto decoded = decode_request(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!decoded) return 0;

  clock_ms += 1000;
  const instant at{steady_time(std::chrono::milliseconds(clock_ms)), clock_ms};
  (void)handler.handle(decoded->body, limiter, at);
  limiter.expire_due(at);
  (void)limiter.take_changes();
  (void)limiter.take_events();

  for (const user* u : limiter.users_matching(""))
    if (limiter.active_count(u->id) > static_cast<std::size_t>(limiter.limit_of(*u)) &&
        limiter.policy_of(*u) == policy::deny && !u->max_streams)
      throw std::logic_error("a user is above the limit");
  return 0;
}
