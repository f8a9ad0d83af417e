#pragma once

#include <cstdint>
#include <string>

namespace streamgate {

// A playback token handed to a client whose stream is live (docs/design.md §9): signed by the api
// that answers (api/playback/playback_gate), rendered as "playback" by api/views.
struct playback_pass {
  std::string token;
  std::int64_t expires_at_ms = 0;
};

}  // namespace streamgate
