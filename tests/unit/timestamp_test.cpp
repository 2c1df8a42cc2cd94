#include <doctest/doctest.h>

#include "proto/timestamp.hpp"

using namespace coordd;

TEST_CASE("a timestamp written by Python's isoformat() round-trips through parse and format") {
  auto parsed = parse_timestamp("2026-03-30T15:00:00.123456+00:00");
  REQUIRE(parsed);
  CHECK(format_timestamp(*parsed) == "2026-03-30T15:00:00.123456+00:00");
}
