#include "common/clock.hpp"

#include <catch2/catch.hpp>
#include <cstdio>
#include <ctime>
#include <random>

namespace streamgate {

namespace {

// What format_iso8601 wrote before it did its own calendar arithmetic: the C library's.
std::string by_gmtime(std::int64_t wall_ms) {
  const std::int64_t ms = ((wall_ms % 1000) + 1000) % 1000;
  const std::time_t seconds = static_cast<std::time_t>((wall_ms - ms) / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<int>(ms));
  return text;
}

}  // namespace

TEST_CASE("format_iso8601 writes UTC with milliseconds", "[clock]") {
  CHECK(format_iso8601(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_iso8601(1'700'000'000'123) == "2023-11-14T22:13:20.123Z");
  CHECK(format_iso8601(1'709'164'799'999) == "2024-02-28T23:59:59.999Z");
  CHECK(format_iso8601(1'709'164'800'000) == "2024-02-29T00:00:00.000Z");
  CHECK(format_iso8601(253'402'300'799'999) == "9999-12-31T23:59:59.999Z");
  CHECK(format_iso8601(-1) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("format_iso8601 agrees with gmtime_r from 1900 to 2400", "[clock]") {
  std::mt19937_64 random(20261202);
  std::uniform_int_distribution<std::int64_t> moment(-2'208'988'800'000, 13'569'465'600'000);
  for (int i = 0; i < 100'000; ++i) {
    const std::int64_t wall_ms = moment(random);
    CAPTURE(wall_ms);
    REQUIRE(format_iso8601(wall_ms) == by_gmtime(wall_ms));
  }
}

}  // namespace streamgate
