#include "common/config.hpp"

#include <arpa/inet.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include "common/link_keys.hpp"
#include "common/loopback_endpoint.hpp"
#include "common/bounded_file.hpp"
#include "common/messages.hpp"

namespace streamgate {

namespace po = boost::program_options;

namespace {

struct option_spec {
  std::string name;  // the flag without "--", also the key in the config file
  std::string value_name;
  std::string help;
  std::string default_text;
  bool repeated = false;  // may be given several times; the values are kept in order
  bool is_switch = false;  // "--name" alone means true; "true"/"false" from the environment, file
};

std::string environment_name(std::string_view flag) {
  std::string name = "STREAMGATE_";
  for (const char c : flag) {
    if (c == '-')
      name += '_';
    else if (c >= 'a' && c <= 'z')
      name += static_cast<char>(c - 'a' + 'A');
    else
      name += c;
  }
  return name;
}

po::options_description describe(const std::vector<option_spec>& specs) {
  po::options_description description("Options", 100, 50);
  description.add_options()("help,h", "print this help and exit")(
      "config", po::value<std::string>()->value_name("FILE"),
      "JSON file of options; its keys are the flag names (env STREAMGATE_CONFIG)");
  for (const option_spec& spec : specs) {
    std::string help = spec.help + " [default: " + spec.default_text + "] (env " +
                       environment_name(spec.name) + (spec.repeated ? ", comma-separated)" : ")");
    if (spec.is_switch)
      description.add_options()(spec.name.c_str(),
                                po::value<std::string>()->implicit_value("true")->value_name(
                                    spec.value_name),
                                help.c_str());
    else if (spec.repeated)
      description.add_options()(spec.name.c_str(),
                                po::value<std::vector<std::string>>()->value_name(spec.value_name),
                                help.c_str());
    else
      description.add_options()(
          spec.name.c_str(), po::value<std::string>()->value_name(spec.value_name), help.c_str());
  }
  return description;
}

std::string help_text(std::string_view program, const po::options_description& description) {
  std::ostringstream text;
  text << "Usage: " << program << " [options]\n\n"
       << description << "\n"
       << "Every option can also be given in the environment (the variable shown) or in the\n"
          "--config file under its flag name. Flags override the environment, which overrides\n"
          "the file.\n";
  return text.str();
}

// The three sources of options after Program_options merged them: store() keeps the first value
// it is given for an option, so the sources are stored from the highest precedence down.
struct option_sources {
  po::variables_map values;
  std::set<std::string, std::less<>> from_flags;
  std::set<std::string, std::less<>> from_environment;
  std::string config_file;
  std::set<std::string, std::less<>> quoted_in_file;  // keys whose value the file quotes: "90"
  bool help = false;
};

const option_spec* find_spec(const std::vector<option_spec>& specs, std::string_view name) {
  for (const option_spec& spec : specs)
    if (spec.name == name) return &spec;
  return nullptr;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> items;
  for (std::size_t start = 0;;) {
    const std::size_t comma = text.find(',', start);
    items.emplace_back(text.substr(start, comma - start));
    if (comma == std::string_view::npos) return items;
    start = comma + 1;
  }
}

po::parsed_options environment_options(const std::vector<option_spec>& specs,
                                       const po::options_description& description,
                                       const environment_lookup& env,
                                       std::set<std::string, std::less<>>& found) {
  po::parsed_options parsed(&description);
  const auto add = [&](const std::string& name, bool repeated) {
    const char* value = env(environment_name(name).c_str());
    // An empty variable counts as unset: `FOO= program` is how shells and compose files unset.
    if (value == nullptr || *value == '\0') return;
    parsed.options.emplace_back(name,
                                repeated ? split_list(value) : std::vector<std::string>{value});
    found.insert(name);
  };
  add("config", false);
  for (const option_spec& spec : specs) add(spec.name, spec.repeated);
  return parsed;
}

// A config file is a page of options; anything much larger is the wrong file.
constexpr std::size_t max_config_bytes = 1024 * 1024;

result<po::parsed_options> file_options(const std::vector<option_spec>& specs,
                                        const po::options_description& description,
                                        const std::string& path,
                                        std::set<std::string, std::less<>>& quoted) {
  const std::string in_file = " in config file '" + path + "'";
  const result<std::string> read = read_bounded_file(path, max_config_bytes, "config file");
  if (!read) return read.error();
  const std::string& text = *read;

  // Numbers are kept as written so that a bad one is quoted exactly in the message.
  rapidjson::Document document;
  document.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag |
                 rapidjson::kParseNumbersAsStringsFlag>(text.data(), text.size());
  if (document.HasParseError() || text.find('\0') != std::string::npos)
    return bad_request("config file '" + path + "' is not valid JSON (near byte " +
                       std::to_string(document.GetErrorOffset()) + ")");
  if (!document.IsObject())
    return bad_request("config file '" + path + "' must hold a JSON object");
  // The same text with its types: a quoted "90" must not pass for the number 90.
  rapidjson::Document typed;
  typed.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());

  po::parsed_options parsed(&description);
  std::set<std::string_view> seen;
  for (const auto& member : document.GetObject()) {
    const std::string_view key(member.name.GetString(), member.name.GetStringLength());
    const option_spec* spec = find_spec(specs, key);
    if (spec == nullptr) return bad_request("unknown key '" + std::string(key) + "'" + in_file);
    if (!seen.insert(key).second)
      return bad_request("key '" + std::string(key) + "' appears twice" + in_file);
    const rapidjson::Value& value = member.value;
    const auto typed_member = typed.FindMember(member.name);
    if (typed_member != typed.MemberEnd() && typed_member->value.IsString())
      quoted.insert(std::string(key));
    std::vector<std::string> values;
    const auto scalar = [](const rapidjson::Value& v) -> std::optional<std::string> {
      if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
      if (v.IsBool()) return v.GetBool() ? "true" : "false";
      return std::nullopt;
    };
    if (value.IsArray() && spec->repeated) {
      for (const rapidjson::Value& item : value.GetArray()) {
        auto text_value = scalar(item);
        if (!text_value)
          return bad_request("bad value for '" + spec->name + "'" + in_file +
                             ": expected a string or an array of strings");
        values.push_back(std::move(*text_value));
      }
    } else if (auto text_value = scalar(value)) {
      values.push_back(std::move(*text_value));
    } else {
      return bad_request("bad value for '" + spec->name + "'" + in_file +
                         (spec->repeated ? ": expected a string or an array of strings"
                                         : ": expected a string, a number or a boolean"));
    }
    parsed.options.emplace_back(spec->name, std::move(values));
  }
  return parsed;
}

result<option_sources> read_sources(const std::vector<option_spec>& specs,
                                    const po::options_description& description, int argc,
                                    const char* const argv[], const environment_lookup& env) {
  option_sources sources;
  try {
    // Guessing would let "--lease" mean "--lease-seconds"; a typo must be refused instead.
    const po::parsed_options flags =
        po::command_line_parser(argc, argv)
            .options(description)
            .style(po::command_line_style::unix_style & ~po::command_line_style::allow_guessing)
            .run();
    for (const po::option& option : flags.options) {
      // Without a positional description Program_options passes stray words through unnamed.
      if (option.string_key.empty())
        return bad_request(
            "unexpected argument '" +
            (option.original_tokens.empty() ? std::string() : option.original_tokens.front()) +
            "'");
      sources.from_flags.insert(option.string_key);
    }
    po::store(flags, sources.values);
    if (sources.values.count("help") != 0) {
      sources.help = true;
      return sources;
    }

    po::store(environment_options(specs, description, env, sources.from_environment),
              sources.values);

    if (sources.values.count("config") != 0) {
      sources.config_file = sources.values["config"].as<std::string>();
      auto from_file =
          file_options(specs, description, sources.config_file, sources.quoted_in_file);
      if (!from_file) return from_file.error();
      po::store(*from_file, sources.values);
    }
  } catch (const po::unknown_option& e) {
    return bad_request("unknown flag '" + e.get_option_name() + "'");
  } catch (const po::error& e) {
    return bad_request(e.what());
  }
  return sources;
}

// Typed reads of the merged options. The first bad value is kept and later reads change nothing,
// so a loader reads every option in a straight line and checks failed() once.
class option_reader final {
 public:
  explicit option_reader(const option_sources& sources) : sources_(sources) {}

  bool failed() const { return failure_.has_value(); }
  error take_error() { return std::move(*failure_); }
  void fail(std::string message) {
    if (!failure_) failure_ = bad_request(std::move(message));
  }

  // Null when the option is given nowhere.
  const std::string* value(std::string_view name) const {
    const auto found = sources_.values.find(std::string(name));
    if (failed() || found == sources_.values.end()) return nullptr;
    return &found->second.as<std::string>();
  }

  const std::vector<std::string>* values(std::string_view name) const {
    const auto found = sources_.values.find(std::string(name));
    if (failed() || found == sources_.values.end()) return nullptr;
    return &found->second.as<std::vector<std::string>>();
  }

  void integer(std::string_view name, int min, int max, int& target) {
    const std::string* text = value(name);
    if (text == nullptr) return;
    const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
    if (quoted_in_file(name)) {
      bad_value(name, *text, range + " as a JSON number, not a string");
      return;
    }
    int number = 0;
    const char* end = text->data() + text->size();
    const auto [stop, code] = std::from_chars(text->data(), end, number);
    if (code == std::errc{} && stop == end && number >= min && number <= max) {
      target = number;
      return;
    }
    bad_value(name, *text, range);
  }

  void one_of(std::string_view name, std::initializer_list<std::string_view> choices,
              std::string_view expectation, std::string& target) {
    const std::string* text = value(name);
    if (text == nullptr) return;
    for (const std::string_view choice : choices) {
      if (*text == choice) {
        target = *text;
        return;
      }
    }
    bad_value(name, *text, expectation);
  }

  void policy_value(std::string_view name, policy& target) {
    const std::string* text = value(name);
    if (text == nullptr) return;
    if (const auto p = parse_policy(*text))
      target = *p;
    else
      bad_value(name, *text, "deny, evict_oldest or monitor");
  }

  template <class Valid>
  void checked(std::string_view name, Valid valid, std::string_view expectation,
               std::string& target) {
    const std::string* text = value(name);
    if (text == nullptr) return;
    if (valid(*text))
      target = *text;
    else
      bad_value(name, *text, expectation);
  }

  void bad_value(std::string_view name, std::string_view text, std::string_view expectation) {
    fail("bad value '" + std::string(text) + "' for " + source_of(name) + ": expected " +
         std::string(expectation));
  }

  // The value in force is the config file's, and a JSON string there.
  bool quoted_in_file(std::string_view name) const {
    return sources_.from_flags.count(name) == 0 && sources_.from_environment.count(name) == 0 &&
           sources_.quoted_in_file.count(name) != 0;
  }

  // Where the value in force came from, as the user would write it.
  std::string source_of(std::string_view name) const {
    if (sources_.from_flags.count(name) != 0) return "--" + std::string(name);
    if (sources_.from_environment.count(name) != 0) return environment_name(name);
    return "'" + std::string(name) + "' in config file '" + sources_.config_file + "'";
  }

 private:
  const option_sources& sources_;
  std::optional<error> failure_;
};

constexpr std::string_view endpoint_expectation = "a ZeroMQ endpoint such as tcp://127.0.0.1:5555";

// transport://address; ZeroMQ itself judges the address when it binds or connects.
bool is_endpoint(std::string_view text) {
  const std::size_t separator = text.find("://");
  return separator != std::string_view::npos && separator > 0 && separator + 3 < text.size();
}

bool parse_port(std::string_view text, unsigned short& port) {
  unsigned number = 0;
  const char* end = text.data() + text.size();
  const auto [stop, code] = std::from_chars(text.data(), end, number);
  if (code != std::errc{} || stop != end || number < 1 || number > 65535) return false;
  port = static_cast<unsigned short>(number);
  return true;
}

// "host:port"; an IPv6 host is written in brackets ("[::1]:8080") and returned without them.
bool parse_host_port(std::string_view text, std::string& host, unsigned short& port) {
  const std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string_view host_part = text.substr(0, colon);
  if (host_part.size() >= 2 && host_part.front() == '[' && host_part.back() == ']')
    host_part = host_part.substr(1, host_part.size() - 2);
  if (host_part.empty() || !parse_port(text.substr(colon + 1), port)) return false;
  host = host_part;
  return true;
}

// What the api binds: an IP address, or localhost, which is 127.0.0.1. Other names are not
// resolved: binding must not depend on DNS, nor pick one of a name's addresses by chance.
bool parse_listen_address(std::string_view text, std::string& host, unsigned short& port) {
  if (!parse_host_port(text, host, port)) return false;
  if (host == "localhost") {
    host = "127.0.0.1";
    return true;
  }
  in6_addr address{};
  return inet_pton(AF_INET, host.c_str(), &address) == 1 ||
         inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

bool is_store(std::string_view text) {
  constexpr std::string_view sqlite = "sqlite:";
  constexpr std::string_view redis = "redis://";
  if (text.starts_with(sqlite)) return text.size() > sqlite.size();
  if (!text.starts_with(redis)) return false;
  // One or more nodes of a server or a Redis Cluster, comma-separated.
  text.remove_prefix(redis.size());
  for (;;) {
    const auto comma = text.find(',');
    std::string host;
    unsigned short port = 0;
    if (!parse_host_port(text.substr(0, comma), host, port)) return false;
    if (comma == std::string_view::npos) return true;
    text.remove_prefix(comma + 1);
  }
}

bool is_non_empty(std::string_view text) { return !text.empty(); }

void read_log(option_reader& options, log_config& log) {
  options.one_of("log-level", {"trace", "debug", "info", "warn", "error", "off"},
                 "one of trace, debug, info, warn, error, off", log.level);
  options.one_of("log-format", {"text", "json"}, "text or json", log.format);
}

void add_log_specs(std::vector<option_spec>& specs) {
  const log_config defaults;
  specs.push_back({"log-level", "LEVEL", "trace, debug, info, warn, error or off", defaults.level});
  specs.push_back(
      {"log-format", "FORMAT", "text, or json for one object per line", defaults.format});
}

std::vector<option_spec> worker_specs() {
  const worker_config d;
  std::vector<option_spec> specs{
      {"requests", "ENDPOINT", "ZeroMQ endpoint to bind for requests from apis", d.bind.requests},
      {"events", "ENDPOINT", "ZeroMQ endpoint to bind for verdicts and events to apis",
       d.bind.events},
      {"store", "URL",
       "sqlite:<path>, or redis://<host>:<port>[,<host>:<port>...] (a server or a cluster)",
       d.store},
      {"catalog", "FILE", "demo users and videos loaded into an empty store", d.catalog},
      {"lease-seconds", "N", "a stream ends this long after its last heartbeat (1-86400)",
       std::to_string(d.lease_seconds)},
      {"default-max-streams", "N", "streams at once for a user without their own limit (1-1000)",
       std::to_string(d.default_max_streams)},
      {"policy", "POLICY", "at the limit: deny the start, evict_oldest stream, or monitor (allow, mark)",
       std::string(to_string(d.default_policy))},
      {"request-memory-seconds", "N", "how long a requestId's verdict is replayed (1-604800)",
       std::to_string(d.request_memory_seconds)},
      {"audit-retention-days", "N",
       "SQLite: audit lines older than this are pruned in the background (1-3650)",
       std::to_string(d.audit_retention_days)},
      {"audit-lines-per-user", "N", "each user keeps its newest N audit lines (1-5000)",
       std::to_string(d.audit_lines_per_user)},
      {"max-batch", "N", "decisions per group commit at most (1-100000)",
       std::to_string(d.max_batch)},
      {"curve-secret-key-file", "FILE",
       "the worker's CURVE secret key (Z85; scripts/make-link-keys.sh): both sockets then "
       "encrypt and serve only the apis of --curve-allowed-clients-file",
       "none"},
      {"curve-allowed-clients-file", "FILE",
       "the CURVE public keys (Z85, one a line, # comments) of the apis this worker serves",
       "none"},
      {"insecure-link", "true|false",
       "serve any peer that reaches a non-loopback --requests or --events without CURVE keys; "
       "without it such a worker refuses to start",
       "false", false, true},
      {"seed", "true|false",
       "load --catalog into an empty Redis; without it a worker refuses an empty Redis, which may "
       "be one that lost its data (a new SQLite file is always seeded)",
       "false", false, true},
  };
  add_log_specs(specs);
  return specs;
}

std::vector<option_spec> api_specs() {
  const api_config d;
  std::vector<option_spec> specs{
      {"listen", "HOST:PORT", "address of the HTTP and WebSocket server",
       d.listen_host + ":" + std::to_string(d.listen_port)},
      {"requests", "ENDPOINT",
       "a worker's request endpoint; repeat per worker, paired in order "
       "with --events",
       d.workers.front().requests, true},
      {"events", "ENDPOINT", "a worker's event endpoint; repeat per worker",
       d.workers.front().events, true},
      {"web-root", "DIR", "directory of the web UI's static files", d.web_root},
      {"docs-root", "DIR", "directory of the /docs renderer's files (docs/build.sh)", d.docs_root},
      {"verdict-timeout-ms", "MS", "wait this long for a verdict before retrying (1-600000)",
       std::to_string(d.verdict_timeout_ms)},
      {"accepted-start-ms", "MS",
       "keep resending a start answered 202 (or sent over a WebSocket) this long, through a "
       "worker restart, before its sockets hear it was given up (1-600000)",
       std::to_string(d.accepted_start_ms)},
      {"io-threads", "N", "threads running the HTTP server (1-64)", std::to_string(d.io_threads)},
      {"max-connections", "N",
       "open HTTP and WebSocket connections at most; more are answered 503 (1-1000000)",
       std::to_string(d.max_connections)},
      {"max-connections-per-address", "N",
       "open connections from one client address (an IPv6 client: its /64) at most; more are "
       "answered 503 too_many_connections (0-1000000, 0 is no cap; behind a proxy every client "
       "has its address)",
       "a quarter of --max-connections, at least 64"},
      {"allowed-origin", "ORIGIN",
       "a browser origin (scheme://host[:port]) besides the api's own allowed to open WebSockets "
       "and send POST, PATCH, PUT and DELETE; repeat for more",
       "none", true},
      {"auth", "MODE", "none, or token for bearer tokens per user and an admin token", d.auth},
      {"admin-token", "TOKEN",
       "the admin's bearer token, needed with --auth token; pass it in the environment, "
       "since a flag shows in ps",
       "none"},
      {"media-root", "DIR", "HLS media served at /media/{videoId}/ to holders of a playback token",
       d.media_root},
      {"playback-token-seconds", "N", "how long a playback token is valid (5-3600)",
       std::to_string(d.playback_token_seconds)},
      {"playback-key-file", "FILE",
       "file holding the playback token key (64 or more hex digits) every api shares; or "
       "STREAMGATE_PLAYBACK_KEY; a random key of this process when neither is given",
       "none"},
      {"playback-key", "HEX", "the playback key itself; pass it in the environment, not as a flag",
       "none"},
      {"curve-secret-key-file", "FILE",
       "the api's CURVE secret key (Z85; scripts/make-link-keys.sh), for workers that run with "
       "keys; needs --curve-worker-public-key-file",
       "none"},
      {"curve-worker-public-key-file", "FILE",
       "the workers' CURVE public key (Z85): one key pair for every worker of a deployment",
       "none"},
      {"start-rate", "N",
       "starts per user per second this api lets through; more are answered 429 rate_limited "
       "(0-10000, 0 is no limit)",
       std::to_string(d.start_rate)},
      {"start-burst", "N", "starts per user let through at once before --start-rate applies (1-100000)",
       std::to_string(d.start_burst)},
      {"max-websockets-per-user", "N",
       "WebSockets one user may hold open on this api; more are answered 429 (1-100000)",
       std::to_string(d.max_websockets_per_user)},
  };
  add_log_specs(specs);
  return specs;
}

template <class Config, class Read>
result<command_line<Config>> load(std::string_view program, const std::vector<option_spec>& specs,
                                  int argc, const char* const argv[], const environment_lookup& env,
                                  Read read) {
  const po::options_description description = describe(specs);
  const auto sources = read_sources(specs, description, argc, argv, env);
  if (!sources) return sources.error();
  command_line<Config> line;
  if (sources->help) {
    line.help = true;
    line.help_text = help_text(program, description);
    return line;
  }
  option_reader options(*sources);
  read(options, line.config);
  if (options.failed()) return options.take_error();
  return line;
}

void read_workers(option_reader& options, std::vector<worker_endpoint>& workers) {
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
    pairs.push_back({request, event});
  }
  if (!options.failed()) workers = std::move(pairs);
}

// An origin as a browser sends it in the Origin header (RFC 6454 §6.2): scheme://host[:port].
bool is_origin(std::string_view text) {
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (!text.starts_with(scheme)) continue;
    const std::string_view authority = text.substr(scheme.size());
    return !authority.empty() && authority.find_first_of("/?#@ \t") == std::string_view::npos;
  }
  return false;
}

void read_allowed_origins(option_reader& options, std::vector<std::string>& origins) {
  const std::vector<std::string>* values = options.values("allowed-origin");
  if (values == nullptr) return;
  for (const std::string& origin : *values) {
    if (is_origin(origin)) continue;
    options.bad_value("allowed-origin", origin,
                      "an origin such as https://app.example.com or http://localhost:3000 "
                      "(scheme://host[:port], no path)");
    return;
  }
  origins = *values;
}

// Bearer tokens are RFC 6750 token68 text; an admin token must also be long enough to guess.
bool is_admin_token(std::string_view text) {
  constexpr std::size_t min_length = 16;
  constexpr std::size_t max_length = 256;
  const auto allowed = [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
  };
  return text.size() >= min_length && text.size() <= max_length &&
         std::all_of(text.begin(), text.end(), allowed);
}

// The admin token is a secret, so unlike every other bad value it is never quoted back.
void read_auth(option_reader& options, api_config& c) {
  options.one_of("auth", {"none", "token"}, "none or token", c.auth);
  if (const std::string* token = options.value("admin-token")) {
    if (!is_admin_token(*token)) {
      options.fail("bad value for " + options.source_of("admin-token") +
                   " (not shown): expected 16 to 256 characters of A-Z a-z 0-9 - . _ ~ + /");
      return;
    }
    c.admin_token = *token;
  }
  if (c.auth == "token" && c.admin_token.empty())
    options.fail(
        "--auth token needs an admin token: set STREAMGATE_ADMIN_TOKEN (16 or more characters)");
}

// The key is a secret, so like the admin token it is never quoted back. A file wins over the
// environment; its surrounding whitespace (a trailing newline) is ignored.
void read_playback_key(option_reader& options, api_config& c) {
  std::string hex;
  if (const std::string* file = options.value("playback-key-file")) {
    constexpr std::size_t max_key_file = 4096;
    auto text = read_bounded_file(*file, max_key_file, "--playback-key-file");
    if (!text) {
      options.fail(text.error().message);
      return;
    }
    const auto first = text->find_first_not_of(" \t\r\n");
    const auto last = text->find_last_not_of(" \t\r\n");
    hex = first == std::string::npos ? "" : text->substr(first, last - first + 1);
  } else if (const std::string* key = options.value("playback-key")) {
    hex = *key;
  } else {
    return;
  }
  const bool is_hex = std::all_of(hex.begin(), hex.end(), [](char ch) {
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
  });
  if (hex.size() < 64 || hex.size() > 1024 || hex.size() % 2 != 0 || !is_hex) {
    options.fail("bad playback key from " +
                 options.source_of(options.value("playback-key-file") ? "playback-key-file"
                                                                      : "playback-key") +
                 " (not shown): expected 64 to 1024 hex digits, an even count (32 bytes or more)");
    return;
  }
  c.playback_key_hex = std::move(hex);
}

// CURVE keys of the worker link (docs/design.md §6), read from files: a secret in a flag or the
// environment would show in `ps` or `/proc`. A key file's content is never quoted back.
void read_key_option(option_reader& options, std::string_view name, std::string& key) {
  const std::string* file = options.value(name);
  if (file == nullptr) return;
  auto read = read_key_file(*file);
  if (!read)
    options.fail(options.source_of(name) + ": " + read.error().message);
  else
    key = std::move(*read);
}

void read_worker_link(option_reader& options, worker_config& c) {
  read_key_option(options, "curve-secret-key-file", c.link_keys.secret_key);
  if (const std::string* file = options.value("curve-allowed-clients-file")) {
    auto keys = read_key_list_file(*file);
    if (!keys)
      options.fail(options.source_of("curve-allowed-clients-file") + ": " + keys.error().message);
    else
      c.link_keys.allowed_clients = std::move(*keys);
  }
  std::string insecure = c.insecure_link ? "true" : "false";
  options.one_of("insecure-link", {"true", "false"}, "true or false", insecure);
  c.insecure_link = insecure == "true";
  if (options.failed()) return;
  if (c.link_keys.secret_key.empty() != c.link_keys.allowed_clients.empty()) {
    options.fail(
        "--curve-secret-key-file and --curve-allowed-clients-file go together: the worker's own "
        "key and the apis it serves");
    return;
  }
  if (!c.link_keys.secret_key.empty() || c.insecure_link) return;
  for (const auto& [name, endpoint] : {std::pair<std::string_view, const std::string&>{
                                           "requests", c.bind.requests},
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

void read_api_link(option_reader& options, api_config& c) {
  read_key_option(options, "curve-secret-key-file", c.link_keys.secret_key);
  read_key_option(options, "curve-worker-public-key-file", c.link_keys.worker_public_key);
  if (options.failed()) return;
  if (c.link_keys.secret_key.empty() != c.link_keys.worker_public_key.empty())
    options.fail(
        "--curve-secret-key-file and --curve-worker-public-key-file go together: the api's own "
        "key and the workers' public key");
}

// The catalog is read only into an empty store, maybe long after start-up: a path that can never
// be read as one (a directory, a device, a file over the cap) is refused now. A missing file is
// not: a seeded store needs none.
void check_catalog_file(option_reader& options, const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status status = std::filesystem::status(path, ec);
  if (ec || status.type() == std::filesystem::file_type::not_found) return;
  if (status.type() != std::filesystem::file_type::regular) {
    options.bad_value("catalog", path, "a JSON file (this is not a regular file)");
    return;
  }
  const std::uintmax_t size = std::filesystem::file_size(path, ec);
  if (!ec && size > max_catalog_bytes)
    options.bad_value("catalog", path, "a JSON file of at most 64 MiB");
}

}  // namespace

const char* process_environment(const char* name) { return std::getenv(name); }

result<command_line<worker_config>> load_worker_config(int argc, const char* const argv[],
                                                       const environment_lookup& env) {
  return load<worker_config>(
      "streamgate-worker", worker_specs(), argc, argv, env,
      [](option_reader& options, worker_config& c) {
        options.checked("requests", is_endpoint, endpoint_expectation, c.bind.requests);
        options.checked("events", is_endpoint, endpoint_expectation, c.bind.events);
        options.checked("store", is_store, "sqlite:<path> or redis://<host>:<port>[,<host>:<port>...]",
                        c.store);
        options.checked("catalog", is_non_empty, "a non-empty path", c.catalog);
        check_catalog_file(options, c.catalog);
        options.integer("lease-seconds", 1, 86400, c.lease_seconds);
        options.integer("default-max-streams", 1, max_streams_ceiling, c.default_max_streams);
        options.policy_value("policy", c.default_policy);
        options.integer("request-memory-seconds", 1, 604800, c.request_memory_seconds);
        options.integer("audit-retention-days", 1, 3650, c.audit_retention_days);
        options.integer("audit-lines-per-user", 1, 5000, c.audit_lines_per_user);
        options.integer("max-batch", 1, 100000, c.max_batch);
        std::string seed = c.seed ? "true" : "false";
        options.one_of("seed", {"true", "false"}, "true or false", seed);
        c.seed = seed == "true";
        read_worker_link(options, c);
        read_log(options, c.log);
      });
}

result<command_line<api_config>> load_api_config(int argc, const char* const argv[],
                                                 const environment_lookup& env) {
  return load<api_config>(
      "streamgate-api", api_specs(), argc, argv, env, [](option_reader& options, api_config& c) {
        if (const std::string* listen = options.value("listen"))
          if (!parse_listen_address(*listen, c.listen_host, c.listen_port))
            options.bad_value("listen", *listen,
                              "<host>:<port> with a port from 1 to 65535, the host an IPv4 "
                              "address, an IPv6 address in brackets, or localhost");
        read_workers(options, c.workers);
        options.checked("web-root", is_non_empty, "a non-empty path", c.web_root);
        options.checked("docs-root", is_non_empty, "a non-empty path", c.docs_root);
        options.integer("verdict-timeout-ms", 1, 600000, c.verdict_timeout_ms);
        options.integer("accepted-start-ms", 1, 600000, c.accepted_start_ms);
        options.integer("io-threads", 1, 64, c.io_threads);
        options.integer("max-connections", 1, 1000000, c.max_connections);
        c.max_connections_per_address = connections_per_address(c.max_connections);
        options.integer("max-connections-per-address", 0, 1000000, c.max_connections_per_address);
        read_allowed_origins(options, c.allowed_origins);
        read_log(options, c.log);
        read_auth(options, c);
        options.checked("media-root", is_non_empty, "a non-empty path", c.media_root);
        options.integer("playback-token-seconds", 5, 3600, c.playback_token_seconds);
        options.integer("start-rate", 0, 10000, c.start_rate);
        options.integer("start-burst", 1, 100000, c.start_burst);
        options.integer("max-websockets-per-user", 1, 100000, c.max_websockets_per_user);
        read_playback_key(options, c);
        read_api_link(options, c);
      });
}

}  // namespace streamgate
