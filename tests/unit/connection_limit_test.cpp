#include "api/http/connection_limit.hpp"

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/http/descriptor_limit.hpp"

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

TEST_CASE("one client address holds at most the per-address cap of connections",
          "[api][connections]") {
  using boost::asio::ip::make_address;
  connection_limit limit(10, 2);
  const auto here = make_address("192.0.2.7");
  auto first = limit.try_acquire(here);
  auto second = limit.try_acquire(here);
  REQUIRE(first.slot);
  REQUIRE(second.slot);
  CHECK(limit.open_from(here) == 2);

  SECTION("a third from the address is refused as per-address, and takes no slot") {
    const auto third = limit.try_acquire(here);
    CHECK_FALSE(third.slot);
    CHECK(third.why == connection_limit::refusal::per_address);
    CHECK(limit.open() == 2);
    CHECK(limit.open_from(here) == 2);
  }
  SECTION("another address is let in") {
    CHECK(limit.try_acquire(make_address("192.0.2.8")).slot);
    CHECK(limit.try_acquire(make_address("2001:db8::1")).slot);
  }
  SECTION("the same address written as IPv4-mapped IPv6 counts as the address") {
    CHECK(limit.try_acquire(make_address("::ffff:192.0.2.7")).why ==
          connection_limit::refusal::per_address);
  }
  SECTION("an address whose connections all closed is forgotten") {
    // Else every address that ever connected would keep an entry: growth without bound.
    for (int i = 0; i < 100; ++i)
      CHECK(limit.try_acquire(make_address("198.51.100." + std::to_string(i))).slot);
    first.slot.reset();
    second.slot.reset();
    CHECK(limit.open() == 0);
    CHECK(limit.tracked_addresses() == 0);
  }
  SECTION("a closed connection gives its place back, and a moved slot gives it once") {
    connection_slot moved = std::move(*first.slot);
    first.slot.reset();
    CHECK(limit.open_from(here) == 2);
    { connection_slot last = std::move(moved); }
    CHECK(limit.open_from(here) == 1);
    CHECK(limit.open() == 1);
    CHECK(limit.try_acquire(here).slot);
  }
  SECTION("past the total the refusal is the total's") {
    connection_limit small(1, 5);
    const auto in = small.try_acquire(make_address("192.0.2.9"));
    REQUIRE(in.slot);
    const auto out = small.try_acquire(make_address("192.0.2.10"));
    CHECK_FALSE(out.slot);
    CHECK(out.why == connection_limit::refusal::total);
    CHECK(small.open_from(make_address("192.0.2.10")) == 0);
  }
}

TEST_CASE("an IPv6 client is counted by its /64", "[api][connections]") {
  using boost::asio::ip::make_address;
  connection_limit limit(10, 1);
  const auto held = limit.try_acquire(make_address("2001:db8:1:2::1"));
  REQUIRE(held.slot);
  CHECK(limit.try_acquire(make_address("2001:db8:1:2:ffff::9")).why ==
        connection_limit::refusal::per_address);
  CHECK(limit.try_acquire(make_address("2001:db8:1:3::1")).slot);
}

TEST_CASE("a per-address cap of 0 counts no address", "[api][connections]") {
  connection_limit limit(3, 0);
  const auto here = boost::asio::ip::make_address("127.0.0.1");
  std::vector<connection_limit::admission> held;
  for (int i = 0; i < 3; ++i) held.push_back(limit.try_acquire(here));
  for (const auto& a : held) CHECK(a.slot);
  CHECK(limit.open_from(here) == 0);
  CHECK(limit.try_acquire(here).why == connection_limit::refusal::total);
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
