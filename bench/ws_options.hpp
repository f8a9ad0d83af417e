#pragma once

// Command line of streamgate-bench.

#include <optional>
#include <string>

namespace streamgate::bench {

struct ws_options {
  std::string host = "127.0.0.1";
  unsigned short port = 8080;
  std::string user_prefix = "bench-u";  // users <prefix>0 .. <prefix><users-1> must exist
  int users = 100;
  int connections = 100;        // connection i belongs to user i % users
  double rate = 0;              // starts per second; 0: as fast as the window allows
  int window = 64;              // outstanding starts at most (max-rate mode)
  double duration_s = 10;       // sending time, warm-up included
  double warmup_s = 1;          // starts sent before this are not measured
  std::string video = "v01";
  bool stop_after_start = true;  // stop every allowed stream, so users stay under their limit
  int hold = 0;                  // > 0: only open this many idle connections and hold them
  double hold_s = 10;
  int connect_concurrency = 256;  // handshakes in flight while opening connections
  bool json = false;
};

// Exits with a usage message on --help or a bad argument.
ws_options parse_options(int argc, char** argv);

}  // namespace streamgate::bench
