#pragma once

// How far a worker's wall clock is from this api's, measured over its pings the way NTP does: a
// ping sent at t0 and answered at t1 (this api's clock) with the worker's reading tw puts the
// offset at tw - (t0 + t1) / 2, within half the round trip. The measure kept is that of the
// shortest round trip among the last few, so pings that waited in a busy or hung worker's queue
// barely move it. Each ping carries it to the worker, which reads this api's deadlines in its own
// clock with it (common/messages.hpp, ping_request; docs/design.md §5).

#include <array>
#include <cstddef>
#include <cstdint>

namespace streamgate {

class clock_offset final {
 public:
  // A ping sent at `sent_ms`, answered with `worker_ms`, received at `received_ms` (this api's
  // wall clock). A round trip this clock ran backwards over is not a measure.
  void observe(std::int64_t sent_ms, std::int64_t worker_ms, std::int64_t received_ms);

  // The worker's clock minus this api's, in ms, within ±max_clock_offset_ms; 0 until measured.
  int offset_ms() const;

 private:
  struct sample {
    std::int64_t round_trip_ms;
    std::int64_t offset_ms;
  };
  // Sixteen pings: eight seconds at the usual pace, so a clock that steps is followed soon.
  std::array<sample, 16> samples_{};
  std::size_t count_ = 0;
  std::size_t next_ = 0;
};

}  // namespace streamgate
