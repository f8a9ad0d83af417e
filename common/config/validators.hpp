#pragma once

// The judgements of option text that the table rows name: what counts as an endpoint, a store
// URL, a listen address, an origin or a secret. True when the text is acceptable.

#include <string>
#include <string_view>

namespace streamgate::config_detail {

inline constexpr std::string_view endpoint_expectation =
    "a ZeroMQ endpoint tcp://<host>:<port> (a port from 1 to 65535) or ipc://<path>";

// transport://address; ZeroMQ itself judges the address when it binds or connects.
bool is_endpoint(std::string_view text);

bool is_non_empty(std::string_view text);

// sqlite:<path>, or redis://<host>:<port>[,<host>:<port>...].
bool is_store(std::string_view text);

// What the api binds: an IPv4 address, an IPv6 address in brackets ("[::1]:8080", returned
// without them) or localhost, which is 127.0.0.1, then a port from 1 to 65535.
bool parse_listen_address(std::string_view text, std::string& host, unsigned short& port);

// An origin as a browser sends it in the Origin header (RFC 6454 §6.2): scheme://host[:port].
bool is_origin(std::string_view text);

// Bearer tokens are RFC 6750 token68 text; an admin token must also be long enough to guess.
bool is_admin_token(std::string_view text);

// The playback key (docs/design.md §9): 64 to 1024 hex digits, an even count.
bool is_playback_key_hex(std::string_view text);

}  // namespace streamgate::config_detail
