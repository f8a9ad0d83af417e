// CURVE on the link between apis and workers (docs/design.md §6): with keys, the apis whose
// public keys the worker was given are served as before; any other ZeroMQ client that reaches
// the worker's ports (no key, a key not allowed, or not knowing the worker's public key) gets
// nothing done and hears no event, and an api without the right keys is not healthy. A worker
// without keys refuses a non-loopback bind unless told --insecure-link, and an api that never
// heard its worker sends it nothing (one that no longer hears it: events_link_test.cpp).
// The keys are made by scripts/make-link-keys.sh, as an operator would make them. These cases ask
// no store: they run once ([link] is left out of the Redis and Cluster runs).

#include <stdlib.h>  // mkdtemp
#include <sys/stat.h>

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "diagnostics.hpp"
#include "free_port.hpp"
#include "helpers.hpp"
#include "process.hpp"
#include "stack.hpp"
#include "wait.hpp"
#include "ws_client.hpp"

#ifndef STREAMGATE_KEYGEN_BIN
#error "STREAMGATE_KEYGEN_BIN must name the streamgate-keygen program"
#endif

using namespace streamgate::it;

namespace {

constexpr std::size_t z85_length = 40;
// Long enough for a CURVE handshake and a reply on loopback many times over; an allowed client
// is answered well within it (each case checks that first), so silence means refusal.
constexpr auto silence = 2s;

std::filesystem::path make_link_test_dir(const std::string& name) {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                        "/streamgate-" + name + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::runtime_error("mkdtemp " + pattern + " failed");
  return pattern;
}

// Runs scripts/make-link-keys.sh DIR NAME... and returns its exit code (or throws after 30 s).
int run_make_link_keys(const std::filesystem::path& dir, const std::vector<std::string>& names,
                       const std::filesystem::path& log) {
  std::vector<std::string> args{dir.string()};
  args.insert(args.end(), names.begin(), names.end());
  process script(STREAMGATE_MAKE_LINK_KEYS, args, dir.parent_path(), log,
                 {std::string("STREAMGATE_KEYGEN=") + STREAMGATE_KEYGEN_BIN});
  if (!wait_until([&] { return !script.running(); }, 30s))
    throw std::runtime_error("make-link-keys.sh did not finish: " + tail_of(log));
  INFO("make-link-keys.sh output:\n" << file_text(log));
  REQUIRE(script.exit_code().has_value());
  return *script.exit_code();
}

// A deployment's link keys in a directory of their own, made by the script.
class link_keys final {
 public:
  explicit link_keys(const std::vector<std::string>& apis)
      : root_(make_link_test_dir("link-keys")), dir_(root_ / "keys") {
    REQUIRE(make(apis) == 0);
  }
  ~link_keys() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  link_keys(const link_keys&) = delete;
  link_keys& operator=(const link_keys&) = delete;

  // Runs the script again on the same directory.
  int make(const std::vector<std::string>& apis) {
    return run_make_link_keys(dir_, apis, root_ / "make-link-keys.log");
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }
  // A key as the file holds it, without its newline.
  std::string key(const std::string& name) const {
    std::string text = file_text(dir_ / name);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    return text;
  }
  // The keys allowed-apis lists, comments left out.
  std::vector<std::string> allowed() const {
    std::vector<std::string> keys;
    std::istringstream lines(file_text(dir_ / "allowed-apis"));
    for (std::string line; std::getline(lines, line);)
      if (!line.empty() && !line.starts_with("#")) keys.push_back(line);
    return keys;
  }
  const std::filesystem::path& dir() const { return dir_; }

  std::vector<std::string> worker_flags() const {
    return {"--curve-secret-key-file", file("worker.key"), "--curve-allowed-clients-file",
            file("allowed-apis")};
  }
  std::vector<std::string> api_flags(const std::string& api = "api",
                                     const std::string& worker = "worker") const {
    return {"--curve-secret-key-file", file(api + ".key"), "--curve-worker-public-key-file",
            file(worker + ".pub")};
  }

 private:
  std::filesystem::path root_;
  std::filesystem::path dir_;
};

// What a raw ZeroMQ client of the test presents: nothing, or a CURVE key pair and the public key
// it believes the worker has.
struct client_identity {
  std::string description;
  std::optional<std::string> secret_key;
  std::string server_key;
};

client_identity no_key() { return {"a client without a key", std::nullopt, ""}; }

client_identity with_key(const link_keys& keys, const std::string& name,
                         const std::string& server = "worker") {
  return {"a client with the key of '" + name + "' believing the worker's key is '" + server + "'",
          keys.key(name + ".key"), keys.key(server + ".pub")};
}

zmq::socket_t raw_socket(zmq::context_t& context, zmq::socket_type type,
                         const client_identity& identity, unsigned short port) {
  zmq::socket_t socket(context, type);
  socket.set(zmq::sockopt::linger, 0);
  if (identity.secret_key) {
    std::array<char, z85_length + 1> public_key{};
    REQUIRE(zmq_curve_public(public_key.data(), identity.secret_key->c_str()) == 0);
    socket.set(zmq::sockopt::curve_serverkey, identity.server_key);
    socket.set(zmq::sockopt::curve_publickey, std::string_view(public_key.data(), z85_length));
    socket.set(zmq::sockopt::curve_secretkey, *identity.secret_key);
  }
  if (type == zmq::socket_type::sub) socket.set(zmq::sockopt::subscribe, "");
  socket.connect("tcp://127.0.0.1:" + std::to_string(port));
  return socket;
}

// Whether a message arrives on `socket` within `timeout`.
bool hears_anything(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  return (item.revents & ZMQ_POLLIN) != 0;
}

// Sends a ping (common/messages.hpp) and returns whether its reply came within `timeout`.
bool answers_ping(zmq::socket_t& dealer, std::chrono::milliseconds timeout) {
  dealer.send(zmq::str_buffer(R"({"op":"ping","corr":77})"), zmq::send_flags::none);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!hears_anything(dealer, 100ms)) continue;
    std::vector<zmq::message_t> frames;
    if (zmq::recv_multipart(dealer, std::back_inserter(frames)) && !frames.empty() &&
        frames[0].to_string() == "77")
      return true;
  }
  return false;
}

// Takes every message a SUB has received by now; true when one holds an event of `user`. A
// message holds its number, then a batch's events, four frames each, the first the user
// (common/messages.hpp).
bool drain_for_user(zmq::socket_t& sub, const std::string& user) {
  bool found = false;
  std::vector<zmq::message_t> frames;
  while (zmq::recv_multipart(sub, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
    for (std::size_t f = 1; f < frames.size(); f += 4)
      found = found || frames[f].to_string() == user;
    frames.clear();
  }
  return found;
}

// An api of its own for the stack's worker; `events_port` 0 is the worker's.
std::unique_ptr<process> start_api_process(const stack& s, const std::string& name,
                                           unsigned short http_port,
                                           const std::vector<std::string>& more_flags,
                                           unsigned short events_port = 0) {
  if (events_port == 0) events_port = s.events_port();
  std::vector<std::string> flags{
      "--listen",   "127.0.0.1:" + std::to_string(http_port),
      "--web-root", STREAMGATE_WEB_ROOT,
      "--requests", "tcp://127.0.0.1:" + std::to_string(s.requests_port()),
      "--events",   "tcp://127.0.0.1:" + std::to_string(events_port)};
  flags.insert(flags.end(), more_flags.begin(), more_flags.end());
  return std::make_unique<process>(api_program(), flags, s.dir(), s.dir() / (name + ".log"));
}

}  // namespace

TEST_CASE("make-link-keys.sh writes CURVE key pairs, secret keys for their owner only, and keeps "
          "pairs in use",
          "[integration][link]") {
  link_keys keys({"api1", "api2"});
  const auto mode = [](const std::string& file) {
    struct stat st {};
    REQUIRE(::stat(file.c_str(), &st) == 0);
    return st.st_mode & 0777;
  };
  CHECK(mode(keys.dir().string()) == 0700);
  for (const std::string name : {"worker", "api1", "api2"}) {
    CAPTURE(name);
    CHECK(mode(keys.file(name + ".key")) == 0600);
    CHECK(mode(keys.file(name + ".pub")) == 0644);
    // Each public key is the one libzmq derives from the secret key beside it.
    std::array<char, z85_length + 1> derived{};
    REQUIRE(zmq_curve_public(derived.data(), keys.key(name + ".key").c_str()) == 0);
    CHECK(std::string(derived.data()) == keys.key(name + ".pub"));
  }
  CHECK(keys.allowed() == std::vector<std::string>{keys.key("api1.pub"), keys.key("api2.pub")});

  // A rerun keeps the pairs that exist and lists only the apis named: api2 is revoked.
  const std::string api1_secret = keys.key("api1.key");
  const std::string worker_secret = keys.key("worker.key");
  REQUIRE(keys.make({"api1"}) == 0);
  CHECK(keys.key("api1.key") == api1_secret);
  CHECK(keys.key("worker.key") == worker_secret);
  CHECK(keys.allowed() == std::vector<std::string>{keys.key("api1.pub")});

  // "worker" is the workers' own pair, not an api's; a name becomes a file name.
  CHECK(keys.make({"worker"}) == 2);
  CHECK(keys.make({"../api"}) == 2);
}

TEST_CASE("with CURVE keys the allowed api serves, and a client without an allowed key gets "
          "nothing done and hears no event",
          "[integration][link]") {
  // 'stranger' had a key pair once and was left out of the list by the second run.
  link_keys keys({"api", "stranger"});
  REQUIRE(keys.make({"api"}) == 0);
  stack s(stack_options{}.worker_args(keys.worker_flags()).api_args(keys.api_flags()));
  http_client http(s.http_port());
  const std::string user = create_user(http);

  zmq::context_t context;
  const std::vector<client_identity> intruders{
      no_key(), with_key(keys, "stranger"),
      // The allowed api's own key pair, but talking to an impostor's public key: the worker
      // cannot even read its handshake.
      with_key(keys, "api", "stranger")};
  // The events: an allowed SUB, and one per intruder.
  zmq::socket_t allowed_sub =
      raw_socket(context, zmq::socket_type::sub, with_key(keys, "api"), s.events_port());
  std::vector<zmq::socket_t> intruder_subs;
  for (const client_identity& intruder : intruders)
    intruder_subs.push_back(raw_socket(context, zmq::socket_type::sub, intruder, s.events_port()));
  // The api pings the worker every half second, and the worker publishes a heartbeat for each:
  // the allowed SUB has joined once it hears one.
  REQUIRE(wait_until([&] { return hears_anything(allowed_sub, 100ms); }, 10s));

  {
    const auto started = start(http, user, start_args{}.session("tv"));
    INFO(started.describe());
    REQUIRE(started.status == 201);
  }
  bool event_heard = false;
  REQUIRE(wait_until([&] { return event_heard = event_heard || drain_for_user(allowed_sub, user); },
                     10s));

  // A client with the allowed key is answered, so the silence below is refusal, not slowness.
  zmq::socket_t allowed_dealer =
      raw_socket(context, zmq::socket_type::dealer, with_key(keys, "api"), s.requests_port());
  REQUIRE(answers_ping(allowed_dealer, 10s));

  const std::string intruder_user = unique_id("intruder");
  for (std::size_t i = 0; i < intruders.size(); ++i) {
    const client_identity& intruder = intruders[i];
    INFO(intruder.description);
    zmq::socket_t dealer =
        raw_socket(context, zmq::socket_type::dealer, intruder, s.requests_port());
    // Stop the user's streams, and make a user with a token hash of the intruder's choice.
    dealer.send(zmq::buffer(R"({"op":"stop_all","corr":1,"userId":")" + user + R"("})"),
                zmq::send_flags::none);
    dealer.send(zmq::buffer(R"({"op":"create_user","corr":2,"id":")" + intruder_user +
                            R"(","name":"Intruder","tokenHash":")" + std::string(64, 'a') +
                            R"("})"),
                zmq::send_flags::none);
    CHECK_FALSE(answers_ping(dealer, silence));
    // Every heartbeat and the user's event went out meanwhile; none reached the intruder.
    zmq::socket_t& sub = intruder_subs[i];
    CHECK_FALSE(hears_anything(sub, 0ms));
  }
  // The ZAP handler is where the key not allowed was turned away.
  CHECK(wait_until(
      [&] {
        return s.worker_log_tail().find("refused a client whose CURVE key is not allowed") !=
               std::string::npos;
      },
      10s));

  // Nothing was done: checked through the allowed api.
  CHECK(stream_ids(http, user).size() == 1);
  CHECK(http.get(user_path(intruder_user)).status == 404);
  CHECK(http.get("/health").status == 200);
}

TEST_CASE("an api without the right CURVE keys is not healthy and answers 503",
          "[integration][link]") {
  link_keys keys({"api", "stranger"});
  REQUIRE(keys.make({"api"}) == 0);
  stack s(stack_options{}.worker_args(keys.worker_flags()).api_args(keys.api_flags()));

  struct extra_api {
    std::string name;
    std::vector<std::string> flags;
    unsigned short port = 0;
    std::unique_ptr<process> program{};
  };
  std::vector<extra_api> apis;
  apis.push_back({"api-with-keys", keys.api_flags()});
  apis.push_back({"api-without-keys", {}});
  apis.push_back({"api-with-a-key-not-allowed", keys.api_flags("stranger")});
  apis.push_back({"api-with-a-wrong-worker-key", keys.api_flags("api", "stranger")});
  // All at once, so the one with the right keys shows how long the others had.
  for (extra_api& api : apis) {
    api.port = free_port();
    api.program = start_api_process(s, api.name, api.port, api.flags);
  }
  INFO(tail_of(s.dir() / "api-with-keys.log"));
  REQUIRE(wait_until([&] { return health_status(apis[0].port) == 200; }, 20s));

  for (std::size_t i = 1; i < apis.size(); ++i) {
    const extra_api& api = apis[i];
    INFO(api.name << ": " << tail_of(s.dir() / (api.name + ".log")));
    REQUIRE(wait_until([&] { return health_status(api.port) != 0; }, 20s));
    CHECK(health_status(api.port) == 503);
    http_client http(api.port);
    const auto r = start(http, "alice", start_args{}.session("from-" + api.name));
    check_error(r, 503, "unavailable");
    CHECK(api.program->running());
  }
}

TEST_CASE("an api that never heard its worker sends it nothing", "[integration][link]") {
  // Its --events names no worker: it never learns which dataset the worker serves, so it cannot
  // tell it from a worker of a second store (docs/design.md §8, "Dataset identity").
  stack s;
  const unsigned short hearing_port = free_port();
  const unsigned short deaf_port = free_port();
  // Both at once, so the one that hears shows how long the other had.
  const auto hearing = start_api_process(s, "api-hearing", hearing_port, {});
  const auto deaf = start_api_process(s, "api-deaf", deaf_port, {}, free_port());
  INFO(tail_of(s.dir() / "api-deaf.log"));
  REQUIRE(wait_until([&] { return health_status(hearing_port) == 200; }, 20s));
  REQUIRE(wait_until([&] { return health_status(deaf_port) != 0; }, 20s));
  CHECK(health_status(deaf_port) == 503);

  http_client deaf_http(deaf_port);
  const auto r = start(deaf_http, "alice", start_args{}.session("deaf-dev").request("deaf-req"));
  check_error(r, 503, "unavailable");
  ws_client ws(deaf_port, ws_client::target_for("alice"));
  const auto closing =
      ws.read_until([](const json::value& m) { return json::str(m, "type") == "error"; }, 10s,
                    "the refusal of the socket");
  INFO(json::dump(closing));
  CHECK(json::str(closing["error"], "code") == "unavailable");
  CHECK(ws.wait_closed(10s));
  // The operator is told why.
  CHECK(wait_until(
      [&] {
        return tail_of(s.dir() / "api-deaf.log").find("whose events this api has never heard") !=
               std::string::npos;
      },
      10s));

  http_client http(hearing_port);
  CHECK(stream_ids(http, "alice").empty());
  CHECK(deaf->running());
}

TEST_CASE("a worker without CURVE keys refuses a non-loopback bind unless told --insecure-link",
          "[integration][link]") {
  const std::filesystem::path dir = make_link_test_dir("link-bind");
  const unsigned short requests_port = free_port();
  unsigned short events_port = free_port();
  while (events_port == requests_port) events_port = free_port();
  const auto worker_flags = [&](const std::string& store, std::vector<std::string> more) {
    std::vector<std::string> flags{"--requests", "tcp://0.0.0.0:" + std::to_string(requests_port),
                                   "--events", "tcp://0.0.0.0:" + std::to_string(events_port),
                                   "--store", "sqlite:" + (dir / store).string(),
                                   "--catalog", STREAMGATE_CATALOG};
    flags.insert(flags.end(), more.begin(), more.end());
    return flags;
  };
  zmq::context_t context;

  SECTION("without keys it exits at once, saying why and what to do") {
    process worker(worker_program(), worker_flags("refused.db", {}), dir, dir / "refused.log");
    REQUIRE(wait_until([&] { return !worker.running(); }, 20s));
    const std::string log = file_text(dir / "refused.log");
    INFO(log);
    CHECK(worker.exit_code() == std::optional<int>(2));
    CHECK_THAT(log, Catch::Contains("--requests 'tcp://0.0.0.0:" + std::to_string(requests_port) +
                                    "' can be reached from other hosts"));
    CHECK_THAT(log, Catch::Contains("--insecure-link"));
    CHECK_FALSE(std::filesystem::exists(dir / "refused.db"));
  }
  SECTION("with --insecure-link it serves anyone, and says so") {
    process worker(worker_program(), worker_flags("insecure.db", {"--insecure-link"}), dir,
                   dir / "insecure.log");
    zmq::socket_t dealer = raw_socket(context, zmq::socket_type::dealer, no_key(), requests_port);
    CHECK(answers_ping(dealer, 20s));
    CHECK(worker.running());
    CHECK_THAT(file_text(dir / "insecure.log"), Catch::Contains("--insecure-link, no CURVE keys"));
  }
  SECTION("with keys it serves the allowed apis only") {
    link_keys keys({"api"});
    process worker(worker_program(), worker_flags("keys.db", keys.worker_flags()), dir,
                   dir / "keys.log");
    zmq::socket_t allowed =
        raw_socket(context, zmq::socket_type::dealer, with_key(keys, "api"), requests_port);
    CHECK(answers_ping(allowed, 20s));
    zmq::socket_t plain = raw_socket(context, zmq::socket_type::dealer, no_key(), requests_port);
    CHECK_FALSE(answers_ping(plain, silence));
    CHECK(worker.running());
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}
