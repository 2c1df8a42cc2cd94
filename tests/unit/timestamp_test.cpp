#include "proto/timestamp.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace coordd;
using namespace std::chrono;
using namespace std::chrono_literals;

namespace {

// 2026-03-30 15:00:00 UTC plus `extra`.
WallTime march_30_at_15(microseconds extra = {}) {
  return WallTime{sys_days{2026y / March / 30} + 15h} + extra;
}

}  // namespace

TEST_CASE("a timestamp written by Python's isoformat() round-trips through parse and format") {
  auto parsed = parse_timestamp("2026-03-30T15:00:00.123456+00:00");
  REQUIRE(parsed);
  CHECK(format_timestamp(*parsed) == "2026-03-30T15:00:00.123456+00:00");
}

TEST_CASE("a timestamp with a Z suffix is the same instant as one with +00:00") {
  auto zulu = parse_timestamp("2026-03-30T15:00:00Z");
  REQUIRE(zulu);
  CHECK(*zulu == march_30_at_15());
}

TEST_CASE("a timestamp without an offset is read as UTC") {
  auto naive = parse_timestamp("2026-03-30T15:00:00.5");
  REQUIRE(naive);
  CHECK(*naive == march_30_at_15(500ms));
}

TEST_CASE("a positive or negative offset is subtracted to reach UTC") {
  auto east = parse_timestamp("2026-03-30T20:30:00+05:30");
  auto west = parse_timestamp("2026-03-30T10:00:00-05:00");
  auto compact = parse_timestamp("2026-03-30T16:00:00+0100");
  REQUIRE(east);
  REQUIRE(west);
  REQUIRE(compact);
  CHECK(*east == march_30_at_15());
  CHECK(*west == march_30_at_15());
  CHECK(*compact == march_30_at_15());
}

TEST_CASE("fraction digits are scaled to microseconds and digits past six are truncated") {
  auto millis = parse_timestamp("2026-03-30T15:00:00.123Z");
  auto nanos = parse_timestamp("2026-03-30T15:00:00.123456789Z");
  REQUIRE(millis);
  REQUIRE(nanos);
  CHECK(*millis == march_30_at_15(123ms));
  CHECK(*nanos == march_30_at_15(123456us));
}

TEST_CASE("a space separator, a missing seconds field and a bare date are accepted") {
  CHECK(parse_timestamp("2026-03-30 15:00:00+00:00") == march_30_at_15());
  CHECK(parse_timestamp("2026-03-30T15:00Z") == march_30_at_15());
  CHECK(parse_timestamp("2026-03-30") == march_30_at_15(-15h));
}

TEST_CASE("February 29 is a date only in a leap year") {
  CHECK(parse_timestamp("2024-02-29T00:00:00+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2026-02-29T00:00:00+00:00").has_value());
}

TEST_CASE("out-of-range fields are rejected") {
  CHECK_FALSE(parse_timestamp("2026-13-01T00:00:00+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2026-00-01T00:00:00+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2026-02-30T00:00:00+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2026-03-30T24:00:00+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2026-03-30T15:60:00+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2026-03-30T15:00:60+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2026-03-30T15:00:00+24:00").has_value());
}

TEST_CASE("trailing junk, an empty string and malformed shapes are rejected") {
  CHECK_FALSE(parse_timestamp("").has_value());
  CHECK_FALSE(parse_timestamp("2026-03-30T15:00:00+00:00junk").has_value());
  CHECK_FALSE(parse_timestamp("2026-03-30T15:00:00Z ").has_value());
  CHECK_FALSE(parse_timestamp("2026-03-30T15:00:00.+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2026-3-30T15:00:00+00:00").has_value());
  CHECK_FALSE(parse_timestamp("2026-03-30T15").has_value());
  CHECK_FALSE(parse_timestamp("2026-03-30T15:00:00+5").has_value());
  CHECK_FALSE(parse_timestamp("tomorrow").has_value());
}

TEST_CASE("format omits the fraction when it is zero and always writes +00:00") {
  CHECK(format_timestamp(march_30_at_15()) == "2026-03-30T15:00:00+00:00");
  CHECK(format_timestamp(march_30_at_15(1us)) == "2026-03-30T15:00:00.000001+00:00");
  CHECK(format_timestamp(march_30_at_15(500ms)) == "2026-03-30T15:00:00.500000+00:00");
}

TEST_CASE("format writes a time before 1970 with a positive time of day") {
  WallTime before_epoch = WallTime{sys_days{1969y / December / 31}} + 23h + 59min + 59s + 500ms;
  CHECK(format_timestamp(before_epoch) == "1969-12-31T23:59:59.500000+00:00");
}
