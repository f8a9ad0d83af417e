#include "api/connection_limit.hpp"
#include "api/descriptor_limit.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <utility>
#include <vector>

namespace streamgate {
namespace {

TEST_CASE("the connection limit hands out slots up to its maximum", "[api][connections]") {
  connection_limit limit(2);
  std::optional<connection_slot> first = limit.try_acquire();
  std::optional<connection_slot> second = limit.try_acquire();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(limit.open() == 2);

  SECTION("a third is refused") { CHECK_FALSE(limit.try_acquire()); }
  SECTION("a slot given back lets the next one in") {
    first.reset();
    CHECK(limit.open() == 1);
    CHECK(limit.try_acquire());
  }
  SECTION("a moved slot is given back once, by its last owner") {
    connection_slot moved = std::move(*second);
    second.reset();
    CHECK(limit.open() == 2);
    {
      connection_slot last = std::move(moved);
      CHECK(limit.open() == 2);
    }
    CHECK(limit.open() == 1);
  }
  SECTION("assigning over a slot gives the old one back") {
    *first = std::move(*second);
    CHECK(limit.open() == 1);
  }
}

TEST_CASE("an empty slot holds nothing", "[api][connections]") {
  connection_limit limit(1);
  { connection_slot none; }
  CHECK(limit.open() == 0);
  CHECK(limit.try_acquire());
}

}  // namespace
}  // namespace streamgate

TEST_CASE("the connection cap stays within the open-files limit", "[connection_limit]") {
  CHECK(streamgate::connections_within(10000, 1024) == 1024 - streamgate::reserved_descriptors);
  CHECK(streamgate::connections_within(100, 1024) == 100);
  CHECK(streamgate::connections_within(10000, 1u << 20) == 10000);
  CHECK(streamgate::connections_within(10000, 64) == 1);
  // The soft limit is raised to the hard one and never lowered.
  const std::size_t raised = streamgate::raise_open_files_limit();
  CHECK(raised >= 64);
  CHECK(streamgate::raise_open_files_limit() == raised);
}
