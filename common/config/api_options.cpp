// Every option of streamgate-api, declared once (common/config/option_table.hpp).

#include <string>
#include <utility>
#include <vector>

#include "common/bounded_file.hpp"
#include "common/config.hpp"
#include "common/config/shared_options.hpp"
#include "common/config/validators.hpp"

namespace streamgate::config_detail {

namespace api_rows {

void read_listen(option_reader& options, api_config& c) {
  const std::string* listen = options.value("listen");
  if (!parse_listen_address(*listen, c.listen_host, c.listen_port))
    options.bad_value("listen", *listen,
                      "<host>:<port> with a port from 1 to 65535, the host an IPv4 address, an "
                      "IPv6 address in brackets, or localhost");
}

void read_allowed_origins(option_reader& options, api_config& c) {
  const std::vector<std::string>* values = options.values("allowed-origin");
  for (const std::string& origin : *values) {
    if (is_origin(origin)) continue;
    options.bad_value("allowed-origin", origin,
                      "an origin such as https://app.example.com or http://localhost:3000 "
                      "(scheme://host[:port], no path)");
    return;
  }
  c.allowed_origins = *values;
}

// The admin token is a secret, so unlike every other bad value it is never quoted back.
void read_admin_token(option_reader& options, api_config& c) {
  const std::string* token = options.value("admin-token");
  if (is_admin_token(*token))
    c.admin_token = *token;
  else
    options.fail("bad value for " + options.source_of("admin-token") +
                 " (not shown): expected 16 to 256 characters of A-Z a-z 0-9 - . _ ~ + /");
}

// The playback key is a secret too, never quoted back.
void set_playback_key(option_reader& options, std::string_view name, std::string hex,
                      api_config& c) {
  if (is_playback_key_hex(hex))
    c.playback_key_hex = std::move(hex);
  else
    options.fail("bad playback key from " + options.source_of(name) +
                 " (not shown): expected 64 to 1024 hex digits, an even count (32 bytes or more)");
}

// The surrounding whitespace of the file (a trailing newline) is ignored.
void read_playback_key_file(option_reader& options, api_config& c) {
  constexpr std::size_t max_key_file = 4096;
  auto text =
      read_bounded_file(*options.value("playback-key-file"), max_key_file, "--playback-key-file");
  if (!text) {
    options.fail(text.error().message);
    return;
  }
  const auto first = text->find_first_not_of(" \t\r\n");
  const auto last = text->find_last_not_of(" \t\r\n");
  set_playback_key(options, "playback-key-file",
                   first == std::string::npos ? "" : text->substr(first, last - first + 1), c);
}

void read_playback_key(option_reader& options, api_config& c) {
  if (options.given("playback-key-file")) return;  // the file wins
  set_playback_key(options, "playback-key", *options.value("playback-key"), c);
}

// --requests and --events pair up in order, one pair per worker; given, they replace the default
// pair as a whole.
void pair_workers(option_reader& options, api_config& c) {
  const std::vector<std::string>* requests = options.values("requests");
  const std::vector<std::string>* events = options.values("events");
  if (requests == nullptr && events == nullptr) return;
  const std::size_t request_count = requests != nullptr ? requests->size() : 0;
  const std::size_t event_count = events != nullptr ? events->size() : 0;
  if (request_count != event_count) {
    options.fail("--requests is given " + std::to_string(request_count) + " time(s) and --events " +
                 std::to_string(event_count) +
                 " time(s): they pair up in order, one pair per worker");
    return;
  }
  if (request_count == 0) {
    options.fail("--requests and --events need at least one pair, one per worker");
    return;
  }
  std::vector<worker_endpoint> pairs;
  pairs.reserve(request_count);
  for (std::size_t i = 0; i < request_count; ++i) {
    const std::string& request = (*requests)[i];
    const std::string& event = (*events)[i];
    if (!is_endpoint(request)) options.bad_value("requests", request, endpoint_expectation);
    if (!is_endpoint(event)) options.bad_value("events", event, endpoint_expectation);
    // One worker named twice would count as two workers of one dataset that each name only
    // themselves alive, and the api would serve nothing (docs/design.md §9).
    for (const worker_endpoint& earlier : pairs)
      if (earlier.requests == request || earlier.events == event)
        options.fail("--requests and --events name the worker '" +
                     (earlier.requests == request ? request : event) +
                     "' twice: one pair per worker");
    pairs.push_back({request, event});
  }
  if (!options.failed()) c.workers = std::move(pairs);
}

void check_auth(option_reader& options, api_config& c) {
  if (c.auth == "token" && c.admin_token.empty())
    options.fail(
        "--auth token needs an admin token: set STREAMGATE_ADMIN_TOKEN (16 or more characters)");
}

// CURVE on the worker link (docs/design.md §6): the api's own key and the workers' go together.
void check_link(option_reader& options, api_config& c) {
  if (c.link_keys.secret_key.empty() != c.link_keys.worker_public_key.empty())
    options.fail(
        "--curve-secret-key-file and --curve-worker-public-key-file go together: the api's own "
        "key and the workers' public key");
}

}  // namespace api_rows

option_table<api_config> api_table() {
  const option_factory<api_config> make;
  const api_config d;
  option_table<api_config> table{
      "streamgate-api", {}, {api_rows::pair_workers, api_rows::check_auth, api_rows::check_link}};
  auto& rows = table.options;
  rows.push_back(make.custom("listen", "HOST:PORT", "address of the HTTP and WebSocket server",
                             d.listen_host + ":" + std::to_string(d.listen_port),
                             api_rows::read_listen));
  // Read in pairs by api_rows::pair_workers, hence no read of their own.
  rows.push_back(
      make.custom("requests", "ENDPOINT",
                  "a worker's request endpoint; repeat per worker, paired in order with --events",
                  d.workers.front().requests, nullptr, option_kind::repeated));
  rows.push_back(make.custom("events", "ENDPOINT", "a worker's event endpoint; repeat per worker",
                             d.workers.front().events, nullptr, option_kind::repeated));
  rows.push_back(make.text("web-root", "DIR", "directory of the web UI's static files",
                           &api_config::web_root, is_non_empty, "a non-empty path"));
  rows.push_back(make.text("docs-root", "DIR",
                           "directory of the /docs renderer's files (docs/build.sh)",
                           &api_config::docs_root, is_non_empty, "a non-empty path"));
  rows.push_back(make.integer("verdict-timeout-ms", "MS",
                              "wait this long for a verdict before retrying", 1, longest_resend_ms,
                              &api_config::verdict_timeout_ms));
  rows.push_back(make.integer(
      "accepted-start-ms", "MS",
      "keep resending a start answered 202 (or sent over a WebSocket) this long, through a "
      "worker restart, before its sockets hear it was given up",
      1, longest_resend_ms, &api_config::accepted_start_ms));
  rows.push_back(make.integer("io-threads", "N", "threads running the HTTP server", 1, 64,
                              &api_config::io_threads));
  option<api_config> max_connections = make.integer(
      "max-connections", "N", "open HTTP and WebSocket connections at most; more are answered 503",
      1, 1000000, &api_config::max_connections);
  // Unless given, the per-address cap follows the total (connections_per_address()); a given
  // --max-connections-per-address is read after this row and wins.
  max_connections.read = [read = std::move(max_connections.read)](option_reader& options,
                                                                  api_config& c) {
    read(options, c);
    c.max_connections_per_address = connections_per_address(c.max_connections);
  };
  rows.push_back(std::move(max_connections));
  option<api_config> per_address = make.integer(
      "max-connections-per-address", "N",
      "open connections from one client address (an IPv6 client: its /64) at most; more are "
      "answered 503 too_many_connections",
      0, 1000000, &api_config::max_connections_per_address,
      ", 0 is no cap; behind a proxy every client has its address");
  per_address.default_text = "a quarter of --max-connections, at least 64";
  rows.push_back(std::move(per_address));
  rows.push_back(make.custom(
      "allowed-origin", "ORIGIN",
      "a browser origin (scheme://host[:port]) besides the api's own allowed to open WebSockets "
      "and send POST, PATCH, PUT and DELETE; repeat for more",
      "none", api_rows::read_allowed_origins, option_kind::repeated));
  rows.push_back(make.choice("auth", "MODE",
                             "none, or token for bearer tokens per user and an admin token",
                             &api_config::auth, {"none", "token"}, "none or token"));
  rows.push_back(make.custom("admin-token", "TOKEN",
                             "the admin's bearer token, needed with --auth token; pass it in the "
                             "environment, since a flag shows in ps",
                             "none", api_rows::read_admin_token));
  rows.push_back(make.text("media-root", "DIR",
                           "HLS media served at /media/{videoId}/ to holders of a playback token",
                           &api_config::media_root, is_non_empty, "a non-empty path"));
  rows.push_back(make.integer("playback-token-seconds", "N", "how long a playback token is valid",
                              5, 3600, &api_config::playback_token_seconds));
  rows.push_back(make.custom(
      "playback-key-file", "FILE",
      "file holding the playback token key (64 or more hex digits) every api shares; or "
      "STREAMGATE_PLAYBACK_KEY; a random key of this process when neither is given",
      "none", api_rows::read_playback_key_file));
  rows.push_back(make.custom("playback-key", "HEX",
                             "the playback key itself; pass it in the environment, not as a flag",
                             "none", api_rows::read_playback_key));
  rows.push_back(key_file_option(
      make, "curve-secret-key-file",
      "the api's CURVE secret key (Z85; scripts/make-link-keys.sh), for workers that run with "
      "keys; needs --curve-worker-public-key-file",
      [](api_config& c) -> std::string& { return c.link_keys.secret_key; }));
  rows.push_back(key_file_option(
      make, "curve-worker-public-key-file",
      "the workers' CURVE public key (Z85): one key pair for every worker of a deployment",
      [](api_config& c) -> std::string& { return c.link_keys.worker_public_key; }));
  rows.push_back(make.integer("start-rate", "N",
                              "starts per user per second this api lets through; more are "
                              "answered 429 rate_limited",
                              0, 10000, &api_config::start_rate, ", 0 is no limit"));
  rows.push_back(make.integer("start-burst", "N",
                              "starts per user let through at once before --start-rate applies", 1,
                              100000, &api_config::start_burst));
  rows.push_back(make.integer("max-websockets-per-user", "N",
                              "WebSockets one user may hold open on this api; more are answered "
                              "429",
                              1, 100000, &api_config::max_websockets_per_user));
  add_log_options(make, rows);
  return table;
}

}  // namespace streamgate::config_detail
