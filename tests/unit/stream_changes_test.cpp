// What a decision changed in a user's live streams (worker/store/stream_changes.hpp): the stores
// write only these, so a miss here would lose a stream or a lease there.

#include "worker/store/stream_changes.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace streamgate {

namespace {

stream live(const std::string& id, std::int64_t expires_at_ms) {
  return {id, "alice", "v1", "device-" + id, 1'000, expires_at_ms};
}

using ids = std::vector<std::string>;

}  // namespace

TEST_CASE("the changes of a user's live streams name each added, renewed and ended one", "[unit]") {
  // Loaded: s1, s2, s3.
  SECTION("nothing changed") {
    const std::vector<stream> now{live("s1", 10), live("s2", 20), live("s3", 30)};
    CHECK(changes_of({}, {}, {}, now) == stream_changes{});
  }
  SECTION("a start adds at the end, a heartbeat renews, a stop or an expiry ends") {
    const std::vector<stream> now{live("s1", 10), live("s3", 99), live("s4", 40), live("s5", 50)};
    CHECK(changes_of({"s4", "s5"}, {"s3"}, {"s2"}, now) == stream_changes{{2, 3}, {1}, {"s2"}});
  }
  SECTION("every stream ended, then new ones") {
    const std::vector<stream> now{live("s6", 60)};
    CHECK(changes_of({"s6"}, {}, {"s1", "s2", "s3"}, now) ==
          stream_changes{{0}, {}, {"s1", "s2", "s3"}});
  }
  SECTION("a stream started and ended in one commit was never stored: neither added nor ended") {
    const std::vector<stream> now{live("s2", 20), live("s3", 30), live("s5", 50)};
    CHECK(changes_of({"s4", "s5"}, {}, {"s4", "s1"}, now) == stream_changes{{2}, {}, {"s1"}});
  }
  SECTION("a renewal counts once, and not for a stream started or ended in the commit") {
    const std::vector<stream> now{live("s2", 90), live("s3", 91), live("s4", 40)};
    CHECK(changes_of({"s4"}, {"s3", "s4", "s1", "s2", "s3"}, {"s1"}, now) ==
          stream_changes{{2}, {0, 1}, {"s1"}});
  }
  SECTION("no stream was loaded") {
    const std::vector<stream> now{live("s1", 10)};
    CHECK(changes_of({"s1"}, {}, {}, now) == stream_changes{{0}, {}, {}});
  }
  SECTION("streams not as the core leaves them: none, so the store writes every stream") {
    CHECK_FALSE(changes_of({"s4"}, {}, {}, {live("s4", 40), live("s1", 10)}).has_value());
    CHECK_FALSE(changes_of({"s4", "s5"}, {}, {}, {live("s5", 50)}).has_value());
    CHECK_FALSE(changes_of({}, {"s9"}, {}, {live("s1", 10)}).has_value());
  }
}

}  // namespace streamgate
