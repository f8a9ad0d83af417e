#pragma once

// What each api connected to this worker last measured of the distance between their wall clocks
// (ping_request::clock_offset_ms), by the api's connection (its ROUTER identity), so that the
// deadline of each of its requests is read in this worker's clock (docs/design.md §5). An api is
// forgotten a minute after its last ping: it pings twice a second while connected.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.hpp"

namespace streamgate {

class api_clocks final {
 public:
  void heard(std::string_view api, int offset_ms, steady_time now);

  // The api's deadline in this worker's clock; 0 (none) stays 0. An api not heard yet is taken
  // to share this worker's clock.
  std::int64_t deadline_here(std::string_view api, std::int64_t deadline_ms) const;

 private:
  struct api_clock {
    int offset_ms;
    steady_time heard_at;
  };
  // Looked up by string_view, for every request: no string made.
  struct identity_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, api_clock, identity_hash, std::equal_to<>> apis_;
  steady_time next_sweep_{};
};

}  // namespace streamgate
