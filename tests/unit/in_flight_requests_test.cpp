// The api's set of starts sent and not yet answered (api/worker_link/in_flight_requests.hpp): what
// GET /api/v1/requests/{id} calls "pending" while the worker has no record of the id.

#include "api/worker_link/in_flight_requests.hpp"

#include <catch2/catch.hpp>

using streamgate::in_flight_requests;

TEST_CASE("a requestId is in flight until each of its sends is answered, then forgotten",
          "[unit][worker_link]") {
  in_flight_requests in_flight;
  CHECK_FALSE(in_flight.contains("r_1"));

  SECTION("one send") {
    in_flight.add("r_1");
    CHECK(in_flight.contains("r_1"));
    CHECK_FALSE(in_flight.contains("r_2"));
    in_flight.remove("r_1");
    CHECK_FALSE(in_flight.contains("r_1"));
  }
  SECTION("a retry sent while the first is still in flight") {
    in_flight.add("r_1");
    in_flight.add("r_1");
    in_flight.remove("r_1");
    CHECK(in_flight.contains("r_1"));
    in_flight.remove("r_1");
    CHECK_FALSE(in_flight.contains("r_1"));
  }
  SECTION("an answer for an id not in flight changes nothing") {
    in_flight.add("r_1");
    in_flight.remove("r_2");
    CHECK(in_flight.contains("r_1"));
    CHECK_FALSE(in_flight.contains("r_2"));
  }
}
