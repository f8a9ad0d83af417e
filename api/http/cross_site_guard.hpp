#pragma once

// What a foreign web page could make a visitor's browser send to the api, refused before routing
// (docs/design.md §6). A browser sends a POST of text/plain, opens a WebSocket to any host and
// follows a DNS name rebound to 127.0.0.1 without asking anyone, so an api with --auth none on
// loopback would otherwise take orders from every page its user visits:
// - bound to a loopback address, only requests for a loopback host name are served (421);
// - a WebSocket upgrade, or a POST, PATCH, PUT or DELETE, that carries an Origin must come from
//   the api's own origin (http:// and the Host it is asked as) or an --allowed-origin (403);
//   clients that send no Origin (curl, other servers) are not browsers and are not affected;
// - a request body of a POST, PATCH or PUT must be application/json (415): a browser sends that
//   across origins only after a CORS preflight, which the api never grants.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http/http_types.hpp"
#include "common/error.hpp"

namespace streamgate {

class cross_site_guard final {
 public:
  // `loopback_only`: the api listens on a loopback address. `allowed_origins`: --allowed-origin,
  // each "scheme://host[:port]".
  cross_site_guard(bool loopback_only, const std::vector<std::string>& allowed_origins);

  // The error to answer instead of serving `request`, or none.
  std::optional<error> refusal(const http_request& request) const;

 private:
  std::optional<error> host_refusal(const http_request& request) const;
  std::optional<error> origin_refusal(const http_request& request) const;

  bool loopback_only_;
  std::vector<std::string> allowed_origins_;  // normalised: lower case, no default port
};

// 127.0.0.0/8, localhost and [::1], with or without a port ("localhost:8080").
bool is_loopback_host(std::string_view host_header);

}  // namespace streamgate
