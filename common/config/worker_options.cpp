// Every option of streamgate-worker, declared once (common/config/option_table.hpp).

#include <filesystem>
#include <string>
#include <system_error>
#include <utility>

#include "common/config.hpp"
#include "common/config/shared_options.hpp"
#include "common/config/validators.hpp"
#include "common/link_keys.hpp"
#include "common/loopback_endpoint.hpp"
#include "common/messages.hpp"

namespace streamgate::config_detail {

namespace worker_rows {

void read_policy(option_reader& options, worker_config& c) {
  const std::string* text = options.value("policy");
  if (const auto p = parse_policy(*text))
    c.default_policy = *p;
  else
    options.bad_value("policy", *text, "deny, evict_oldest or monitor");
}

void read_allowed_clients(option_reader& options, worker_config& c) {
  auto keys = read_key_list_file(*options.value("curve-allowed-clients-file"));
  if (!keys)
    options.fail(options.source_of("curve-allowed-clients-file") + ": " + keys.error().message);
  else
    c.link_keys.allowed_clients = std::move(*keys);
}

// The catalog is read only into an empty store, maybe long after start-up: a path that can never
// be read as one (a directory, a device, a file over the cap) is refused now, the default too. A
// missing file is not: a seeded store needs none.
void check_catalog_file(option_reader& options, worker_config& c) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(c.catalog, ec);
  if (ec || status.type() == std::filesystem::file_type::not_found) return;
  if (status.type() != std::filesystem::file_type::regular) {
    options.bad_value("catalog", c.catalog, "a JSON file (this is not a regular file)");
    return;
  }
  const std::uintmax_t size = std::filesystem::file_size(c.catalog, ec);
  if (!ec && size > max_catalog_bytes)
    options.bad_value("catalog", c.catalog, "a JSON file of at most 64 MiB");
}

// CURVE on the worker link (docs/design.md §6): both keys or neither, and without them only
// endpoints no other host reaches unless --insecure-link.
void check_link(option_reader& options, worker_config& c) {
  if (c.link_keys.secret_key.empty() != c.link_keys.allowed_clients.empty()) {
    options.fail(
        "--curve-secret-key-file and --curve-allowed-clients-file go together: the worker's own "
        "key and the apis it serves");
    return;
  }
  if (!c.link_keys.secret_key.empty() || c.insecure_link) return;
  for (const auto& [name, endpoint] :
       {std::pair<std::string_view, const std::string&>{"requests", c.bind.requests},
        {"events", c.bind.events}}) {
    if (is_loopback_endpoint(endpoint)) continue;
    options.fail(options.source_of(name) + " '" + endpoint +
                 "' can be reached from other hosts, and without CURVE keys any process there "
                 "could act for every user: give --curve-secret-key-file and "
                 "--curve-allowed-clients-file (scripts/make-link-keys.sh makes them), or "
                 "--insecure-link to serve it unauthenticated anyway");
    return;
  }
}

}  // namespace worker_rows

option_table<worker_config> worker_table() {
  const option_factory<worker_config> make;
  option_table<worker_config> table{
      "streamgate-worker", {}, {worker_rows::check_catalog_file, worker_rows::check_link}};
  auto& rows = table.options;
  rows.push_back(make.text(
      "requests", "ENDPOINT", "ZeroMQ endpoint to bind for requests from apis",
      [](worker_config& c) -> std::string& { return c.bind.requests; }, is_endpoint,
      std::string(endpoint_expectation)));
  rows.push_back(make.text(
      "events", "ENDPOINT", "ZeroMQ endpoint to bind for verdicts and events to apis",
      [](worker_config& c) -> std::string& { return c.bind.events; }, is_endpoint,
      std::string(endpoint_expectation)));
  rows.push_back(make.text(
      "store", "URL",
      "sqlite:<path>, or redis://<host>:<port>[,<host>:<port>...] (a server or a cluster)",
      &worker_config::store, is_store,
      "sqlite:<path> or redis://<host>:<port>[,<host>:<port>...]"));
  rows.push_back(make.text("catalog", "FILE", "demo users and videos loaded into an empty store",
                           &worker_config::catalog, is_non_empty, "a non-empty path"));
  rows.push_back(make.integer("lease-seconds", "N",
                              "a stream ends this long after its last heartbeat", 1, 86400,
                              &worker_config::lease_seconds));
  rows.push_back(make.integer("default-max-streams", "N",
                              "streams at once for a user without their own limit", 1,
                              max_streams_ceiling, &worker_config::default_max_streams));
  rows.push_back(make.custom(
      "policy", "POLICY",
      "at the limit: deny the start, evict_oldest stream, or monitor (allow, mark)",
      std::string(to_string(worker_config{}.default_policy)), worker_rows::read_policy));
  rows.push_back(
      make.integer("request-memory-seconds", "N",
                   "how long a requestId's verdict is replayed (among a user's newest 256 starts)",
                   longest_resend_ms / 1000, 604800, &worker_config::request_memory_seconds));
  rows.push_back(make.integer("audit-retention-days", "N",
                              "SQLite: audit lines older than this are pruned in the background", 1,
                              3650, &worker_config::audit_retention_days));
  rows.push_back(make.integer("audit-lines-per-user", "N",
                              "each user keeps its newest N audit lines", 1, 5000,
                              &worker_config::audit_lines_per_user));
  rows.push_back(make.integer("max-batch", "N", "decisions per group commit at most", 1, 100000,
                              &worker_config::max_batch));
  rows.push_back(key_file_option(
      make, "curve-secret-key-file",
      "the worker's CURVE secret key (Z85; scripts/make-link-keys.sh): both sockets then "
      "encrypt and serve only the apis of --curve-allowed-clients-file",
      [](worker_config& c) -> std::string& { return c.link_keys.secret_key; }));
  rows.push_back(make.custom(
      "curve-allowed-clients-file", "FILE",
      "the CURVE public keys (Z85, one a line, # comments) of the apis this worker serves", "none",
      worker_rows::read_allowed_clients));
  rows.push_back(make.toggle(
      "insecure-link",
      "serve any peer that reaches a non-loopback --requests or --events without CURVE keys; "
      "without it such a worker refuses to start",
      &worker_config::insecure_link));
  rows.push_back(make.toggle(
      "seed",
      "load --catalog into an empty Redis; without it a worker refuses an empty Redis, which may "
      "be one that lost its data (a new SQLite file is always seeded)",
      &worker_config::seed));
  add_log_options(make, rows);
  return table;
}

}  // namespace streamgate::config_detail
