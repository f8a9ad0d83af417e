#pragma once

// Typed configuration of both programs, from (lowest to highest precedence) a JSON file given by
// --config, the environment (STREAMGATE_<FLAG_NAME>, e.g. STREAMGATE_LEASE_SECONDS), then flags.
// Keys of the JSON file are the flag names ({"lease-seconds": 30}). Unknown keys and bad values
// are refused with a message that quotes them. Each program declares its options once, in one
// table (common/config/api_options.cpp, worker_options.cpp) from which --help, parsing, the
// environment, the config file and the checks all come; flags are parsed and --help laid out by
// Boost.Program_options (common/config/command_line.cpp).

#include <functional>
#include <string>
#include <vector>

#include "common/domain.hpp"
#include "common/error.hpp"

namespace streamgate {

struct worker_endpoint {
  std::string requests = "tcp://127.0.0.1:5555";  // worker's ROUTER
  std::string events = "tcp://127.0.0.1:5556";    // worker's PUB
};

// CURVE on the worker link (docs/design.md §6): Z85 keys, 40 characters each, read from the files
// --curve-... names (common/link_keys.hpp). Empty: no CURVE.
struct worker_link_keys {
  std::string secret_key;                    // the worker's own; its public key is derived
  std::vector<std::string> allowed_clients;  // public keys of the apis it serves
};
struct api_link_keys {
  std::string secret_key;  // the api's own; its public key is derived
  // The workers': the workers of one deployment share one key pair (they share one dataset).
  std::string worker_public_key;
};

struct log_config {
  std::string level = "info";   // trace|debug|info|warn|error|off
  std::string format = "text";  // text|json
};

// The largest catalog a worker reads (--catalog).
inline constexpr std::size_t max_catalog_bytes = 64 * 1024 * 1024;

// The longest an api resends a request, under the same requestId, until a worker decides it
// (--verdict-timeout-ms, --accepted-start-ms): a worker remembers a requestId's verdict at least
// this long (--request-memory-seconds), so no resend is ever decided a second time.
inline constexpr int longest_resend_ms = 600'000;

struct worker_config {
  worker_endpoint bind;
  std::string store = "sqlite:var/streamgate.db";
  std::string catalog = "data/catalog.json";  // loaded into an empty store on first start
  int lease_seconds = 90;
  int default_max_streams = 3;
  policy default_policy = policy::deny;
  int request_memory_seconds = 600;  // how long a requestId's verdict is remembered
  int audit_retention_days = 30;     // audit lines older than this are pruned (SQLite store)
  int audit_lines_per_user = 1000;   // each user's newest audit lines kept (both stores)
  int max_batch = 512;               // requests decided per group commit at most
  worker_link_keys link_keys;
  // Lets a worker without keys bind a non-loopback endpoint (anyone reaching it is served).
  bool insecure_link = false;
  // An empty shared store is seeded only when told so (hardening: a Redis that lost its data
  // must not come back as a fresh catalog unnoticed).
  bool seed = false;
  log_config log;
};

// Where docs/build.sh put the /docs renderer at build time (CMake sets it to the build tree).
#ifndef STREAMGATE_DOCS_ROOT
#define STREAMGATE_DOCS_ROOT "docs-assets"
#endif

// The default of --max-connections-per-address for a --max-connections: a quarter, so one
// address leaves most of the slots to others, but at least 64, so a small cap does not turn a
// browser's few connections (or a test's dozens) away.
constexpr int connections_per_address(int max_connections) {
  return max_connections / 4 > 64 ? max_connections / 4 : 64;
}

struct api_config {
  std::string listen_host = "127.0.0.1";
  unsigned short listen_port = 8080;
  std::vector<worker_endpoint> workers{worker_endpoint{}};  // --requests/--events, repeated
  std::string web_root = "web";
  std::string docs_root = STREAMGATE_DOCS_ROOT;  // served as /docs/assets/
  int verdict_timeout_ms = 2000;
  // A 202 promised a verdict: resent (same requestId, decided once) for this long.
  int accepted_start_ms = 60000;
  int io_threads = 1;
  int max_connections = 10000;  // open HTTP and WebSocket connections; more get 503
  // Open connections from one client address (an IPv6 client: its /64); more get 503; 0 is no
  // cap. Unless given: a quarter of max_connections, at least 64 (connections_per_address()).
  // Behind a proxy every client has the proxy's address (docs/design.md §6).
  int max_connections_per_address = connections_per_address(max_connections);
  // Browser origins besides the api's own that may upgrade to a WebSocket and change state
  // (api/http/cross_site_guard); each "scheme://host[:port]".
  std::vector<std::string> allowed_origins;
  log_config log;
  // none: anyone may act for any user (the local demo). token: bearer tokens (docs/design.md §6).
  std::string auth = "none";
  // Needed with auth=token. Pass it as STREAMGATE_ADMIN_TOKEN: a flag shows in `ps`.
  std::string admin_token;
  // Playback (docs/design.md §9). The HMAC key every api of a deployment shares, as hex digits
  // (64 or more); empty: a random key of this process (the one-machine demo). Pass it as
  // STREAMGATE_PLAYBACK_KEY or in --playback-key-file: a flag shows in `ps`.
  std::string playback_key_hex;
  std::string media_root = "var/media";  // DIR/{videoId}/index.m3u8 and its segments
  int playback_token_seconds = 60;       // about twice the web UI's heartbeat period
  api_link_keys link_keys;
  // Starts per user per second in this api, and the burst allowed at once; 0 turns it off.
  int start_rate = 10;
  int start_burst = 30;
  // One user's WebSockets on this api at most, so one user cannot take every connection slot.
  int max_websockets_per_user = 32;
};

// The result of reading a command line: either a config to run with, or help to print.
template <class Config>
struct command_line {
  Config config;
  bool help = false;
  std::string help_text;
};

// Looks up an environment variable; injected so tests need not touch the real environment.
using environment_lookup = std::function<const char*(const char*)>;
const char* process_environment(const char* name);

result<command_line<worker_config>> load_worker_config(
    int argc, const char* const argv[], const environment_lookup& env = process_environment);
result<command_line<api_config>> load_api_config(
    int argc, const char* const argv[], const environment_lookup& env = process_environment);

}  // namespace streamgate
