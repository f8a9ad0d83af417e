// The worker link's ZeroMQ calls (api/worker_link/zmq_sockets.hpp): a signal that interrupts
// one (SIGTERM lands on the io threads that run the link) makes it again, never ends the api.

#include "api/worker_link/zmq_sockets.hpp"

#include <catch2/catch.hpp>
#include <cerrno>
#include <zmq.hpp>

using namespace streamgate;

TEST_CASE("a ZeroMQ call a signal interrupted is made again; other errors still throw",
          "[unit][worker_link]") {
  int calls = 0;
  const int answer = again_if_interrupted([&] {
    if (++calls < 3) throw zmq::error_t(EINTR);
    return 42;
  });
  CHECK(answer == 42);
  CHECK(calls == 3);

  calls = 0;
  CHECK_THROWS_AS(again_if_interrupted([&]() -> int {
                    ++calls;
                    throw zmq::error_t(ETERM);
                  }),
                  zmq::error_t);
  CHECK(calls == 1);
}
