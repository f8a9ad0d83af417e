#pragma once

// Which ZeroMQ endpoints only this host can reach. A worker may bind those without CURVE keys;
// any other needs keys or an explicit --insecure-link (docs/design.md §6).

#include <string_view>

namespace streamgate {

// ipc://, inproc://, or tcp:// on 127.0.0.0/8 (numeric), [::1] or localhost. Everything else,
// `*`, 0.0.0.0, an interface name or a host name included, counts as reachable from elsewhere.
bool is_loopback_endpoint(std::string_view endpoint);

}  // namespace streamgate
