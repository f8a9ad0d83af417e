#include "api/routes/static_headers.hpp"

#include <string_view>

namespace streamgate {

namespace {

// What web/ uses, and no more: its scripts and styles from its own origin (no inline ones;
// hls.js comes from /docs/assets/), the data: favicon, fetch and the WebSocket to the same host
// ('self' covers ws: of it in CSP 3), and hls.js's video, which plays from blob: URLs through a
// worker of its own made from a blob:. Style attributes stay allowed: the UI sets a custom
// property in one (an avatar's hue), and an attribute can hold no script.
constexpr std::string_view content_security_policy =
    "default-src 'self'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

}  // namespace

void add_static_headers(http_response& res) {
  // Neither is among Beast's known fields.
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Content-Security-Policy", content_security_policy);
}

}  // namespace streamgate
