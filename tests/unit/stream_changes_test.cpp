// What a decision changed in a user's live streams (worker/store/stream_changes.hpp): the Redis
// store writes only these, so a miss here would lose a stream or a lease there.

#include "worker/store/stream_changes.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace streamgate {

namespace {

stream live(const std::string& id, std::int64_t expires_at_ms) {
  return {id, "alice", "v1", "device-" + id, 1'000, expires_at_ms};
}

}  // namespace

TEST_CASE("the changes of a user's live streams name each added, renewed and ended one", "[unit]") {
  const std::vector<stream> loaded{live("s1", 10), live("s2", 20), live("s3", 30)};
  const stream_leases before(loaded);
  REQUIRE(before == stream_leases{{"s1", 10}, {"s2", 20}, {"s3", 30}});
  REQUIRE(before.size() == 3);
  CHECK(before.id(1) == "s2");
  CHECK(before.expires_at_ms(2) == 30);

  SECTION("nothing changed") { CHECK(changes_between(before, loaded) == stream_changes{}); }
  SECTION("a start adds at the end, a heartbeat renews, a stop or an expiry ends") {
    const std::vector<stream> now{live("s1", 10), live("s3", 99), live("s4", 40), live("s5", 50)};
    CHECK(changes_between(before, now) == stream_changes{{2, 3}, {1}, {"s2"}});
  }
  SECTION("every stream ended, then new ones") {
    const std::vector<stream> now{live("s6", 60)};
    CHECK(changes_between(before, now) == stream_changes{{0}, {}, {"s1", "s2", "s3"}});
  }
  SECTION("no stream was loaded") {
    const std::vector<stream> now{live("s1", 10)};
    CHECK(changes_between({}, now) == stream_changes{{0}, {}, {}});
  }
  SECTION("ids of other lengths are read back whole, and end whole") {
    const std::vector<stream> longer{live("s_0123456789abcdef0123456789", 10), live("s", 20),
                                     live("stream-three", 30)};
    const stream_leases leases(longer);
    CHECK(leases.id(0) == "s_0123456789abcdef0123456789");
    CHECK(leases.id(1) == "s");
    CHECK(leases.id(2) == "stream-three");
    const std::vector<stream> now{longer[1]};
    CHECK(changes_between(leases, now) ==
          stream_changes{{}, {}, {"s_0123456789abcdef0123456789", "stream-three"}});
  }
  SECTION("out of order (never made by the core): what moved is ended and added again") {
    const std::vector<stream> now{live("s2", 20), live("s1", 10), live("s3", 30)};
    const stream_changes changes = changes_between(before, now);
    CHECK(changes.ended == std::vector<std::string>{"s1", "s3"});
    CHECK(changes.added == std::vector<std::size_t>{1, 2});
    CHECK(changes.renewed.empty());
  }
}

}  // namespace streamgate
