#include "api/connection_limit.hpp"

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
