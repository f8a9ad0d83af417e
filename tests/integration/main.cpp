// The runner of the integration tests. A test writes to sockets the server may have closed:
// that must be an error code, not a SIGPIPE that ends the whole run.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <csignal>

int main(int argc, char* argv[]) {
  std::signal(SIGPIPE, SIG_IGN);
  return Catch::Session().run(argc, argv);
}
