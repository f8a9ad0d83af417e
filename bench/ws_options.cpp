#include "ws_options.hpp"

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>

namespace streamgate::bench {

namespace {

constexpr const char* usage = R"(streamgate-bench: WebSocket load client for streamgate-api

  --host H --port P        api address (127.0.0.1:8080)
  --users N                users bench-u0..bench-u<N-1> (must exist; 100)
  --user-prefix S          user id prefix (bench-u)
  --connections K          WebSockets; connection i belongs to user i % N (100)
  --rate R                 starts per second at a fixed rate; 0 = as fast as --window allows (0)
  --window W               outstanding starts at most in max-rate mode (64)
  --duration S             seconds of sending, warm-up included (10)
  --warmup S               seconds not measured at the beginning (1)
  --video ID               videoId of every start (v01)
  --no-stop                do not stop allowed streams (users fill up to their limit)
  --hold N                 only open N idle WebSockets and hold them (memory figure)
  --hold-seconds S         how long to hold them (10)
  --connect-concurrency C  handshakes in flight while connecting (256)
  --json                   print one JSON object instead of text

Latency is measured from the send (at a fixed rate: from the scheduled send time, so a stalled
server is not hidden) to the first {"type":"verdict"} carrying the same requestId.
)";

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "streamgate-bench: %s (see --help)\n", message.c_str());
  std::exit(2);
}

double number(const std::string& flag, const char* text, double low, double high) {
  char* end = nullptr;
  const double value = std::strtod(text, &end);
  if (end == text || *end != '\0' || value < low || value > high)
    fail("bad value '" + std::string(text) + "' for " + flag);
  return value;
}

}  // namespace

ws_options parse_options(int argc, char** argv) {
  ws_options o;
  using setter = std::function<void(const std::string&, const char*)>;
  auto integer = [](int& field, double low, double high) -> setter {
    return [&field, low, high](const std::string& f, const char* v) {
      field = static_cast<int>(number(f, v, low, high));
    };
  };
  auto real = [](double& field, double low, double high) -> setter {
    return [&field, low, high](const std::string& f, const char* v) { field = number(f, v, low, high); };
  };
  auto text = [](std::string& field) -> setter {
    return [&field](const std::string&, const char* v) { field = v; };
  };
  const std::map<std::string, setter> with_value{
      {"--host", text(o.host)},
      {"--port", [&o](const std::string& f, const char* v) {
         o.port = static_cast<unsigned short>(number(f, v, 1, 65535));
       }},
      {"--users", integer(o.users, 1, 1e7)},
      {"--user-prefix", text(o.user_prefix)},
      {"--connections", integer(o.connections, 1, 1e6)},
      {"--rate", real(o.rate, 0, 1e7)},
      {"--window", integer(o.window, 1, 1e6)},
      {"--duration", real(o.duration_s, 0.1, 86400)},
      {"--warmup", real(o.warmup_s, 0, 86400)},
      {"--video", text(o.video)},
      {"--hold", integer(o.hold, 1, 1e6)},
      {"--hold-seconds", real(o.hold_s, 0, 86400)},
      {"--connect-concurrency", integer(o.connect_concurrency, 1, 1e5)},
  };
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (flag == "--json") {
      o.json = true;
    } else if (flag == "--no-stop") {
      o.stop_after_start = false;
    } else if (auto it = with_value.find(flag); it != with_value.end()) {
      if (i + 1 >= argc) fail(flag + " needs a value");
      it->second(flag, argv[++i]);
    } else {
      fail("unknown argument '" + flag + "'");
    }
  }
  if (o.warmup_s >= o.duration_s) fail("--warmup must be shorter than --duration");
  return o;
}

}  // namespace streamgate::bench
