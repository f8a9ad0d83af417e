#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace streamgate {

using steady_time = std::chrono::steady_clock::time_point;

// One moment seen by both clocks: leases run on the monotonic clock (immune to wall-clock
// jumps), while the times shown to clients and stored on disk are wall-clock milliseconds.
// Every decision takes an instant as a parameter, so tests inject time instead of sleeping.
struct instant {
  steady_time mono;
  std::int64_t wall_ms;
};

instant now();

// "2026-11-22T10:13:19.123Z"
std::string format_iso8601(std::int64_t wall_ms);

}  // namespace streamgate
