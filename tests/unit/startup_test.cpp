#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/unit/temp_dir.hpp"
#include "worker/sqlite_store.hpp"
#include "worker/startup.hpp"
#include "worker/stream_limiter.hpp"

namespace streamgate {
namespace {

using namespace std::chrono_literals;
using Catch::Matchers::Contains;

// The demo catalog the worker ships with, found from this file so any build dir works.
const std::filesystem::path demo_catalog =
    std::filesystem::path(__FILE__).parent_path() / ".." / ".." / "data" / "catalog.json";

}  // namespace

TEST_CASE("the demo catalog seeds an empty store and restores into a limiter", "[startup]") {
  const test::temp_dir dir;
  auto store = sqlite_store::open(dir.path() / "sg.db");
  const limiter_options options;

  REQUIRE(seed_catalog(store, demo_catalog, options).has_value());
  CHECK(store.has_catalog());

  const instant at{steady_time{} + 1h, 1'700'000'000'000};
  stream_limiter limiter(options);
  restore(limiter, store.load(), at);
  CHECK(limiter.users_matching("").size() == 10);
  CHECK(limiter.videos().size() == 20);
  REQUIRE(limiter.find_user("alice"));
  CHECK(limiter.limit_of(*limiter.find_user("alice")) == 3);
  // The catalog shows other plans too.
  REQUIRE(limiter.find_user("dave"));
  CHECK(limiter.limit_of(*limiter.find_user("dave")) == 1);
}

TEST_CASE("restore brings back live streams and remembered verdicts", "[startup]") {
  const test::temp_dir dir;
  const auto file = dir.path() / "sg.db";
  const instant decided{steady_time{} + 1h, 1'700'000'000'000};
  std::string stream_id;
  {
    auto store = sqlite_store::open(file);
    REQUIRE(seed_catalog(store, demo_catalog, limiter_options{}).has_value());
    stream_limiter limiter(limiter_options{});
    restore(limiter, store.load(), decided);
    auto started = limiter.start({"r_1", "alice", "v01", "phone"}, decided);
    REQUIRE(started.has_value());
    stream_id = started->v->granted->stream_id;
    store.commit(limiter.take_changes());
  }

  // A restart 10 s later on another monotonic clock.
  const instant later{steady_time{} + 5h, decided.wall_ms + 10'000};
  stream_limiter limiter(limiter_options{});
  restore(limiter, sqlite_store::open(file).load(), later);
  REQUIRE(limiter.streams_of("alice").size() == 1);
  CHECK(limiter.streams_of("alice")[0].stream_id == stream_id);
  REQUIRE(limiter.find_verdict("r_1"));
  CHECK(limiter.find_verdict("r_1")->allowed);
  // The lease resumed with its remaining 80 s: still live at 79 s, ended at 80 s.
  limiter.expire_due({later.mono + 79s, later.wall_ms + 79'000});
  CHECK(limiter.active_count("alice") == 1);
  limiter.expire_due({later.mono + 80s, later.wall_ms + 80'000});
  CHECK(limiter.active_count("alice") == 0);
}

TEST_CASE("a missing or invalid catalog is refused with its path", "[startup]") {
  const test::temp_dir dir;
  auto store = sqlite_store::open(dir.path() / "sg.db");
  const auto bad = dir.path() / "catalog.json";

  SECTION("missing") {
    const auto seeded = seed_catalog(store, dir.path() / "none.json", limiter_options{});
    REQUIRE_FALSE(seeded.has_value());
    CHECK_THAT(seeded.error().message, Contains("none.json"));
  }
  SECTION("not a catalog") {
    std::ofstream(bad) << R"({"users":[{"id":"bad id!","name":"X"}],"videos":[]})";
    const auto seeded = seed_catalog(store, bad, limiter_options{});
    REQUIRE_FALSE(seeded.has_value());
    CHECK(seeded.error().code == error_code::bad_request);
    CHECK_THAT(seeded.error().message, Contains("catalog.json"));
  }
  CHECK_FALSE(store.has_catalog());
}

}  // namespace streamgate
