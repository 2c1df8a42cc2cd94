// record_table: the list table and its time-left column.
#include "client/record_table.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "proto/timestamp.hpp"

namespace json = boost::json;
using namespace std::chrono_literals;

TEST_CASE("time left reads in the two largest units") {
  CHECK(coordd::format_time_left(42s) == "42s");
  CHECK(coordd::format_time_left(4min + 12s) == "4m12s");
  CHECK(coordd::format_time_left(3h + 5min + 9s) == "3h05m");
  CHECK(coordd::format_time_left(50h) == "2d02h");
  CHECK(coordd::format_time_left(-5s) == "0s");
}

TEST_CASE("a lease row shows its effective expiry and time left, or what ended it") {
  coordd::WallTime now = *coordd::parse_timestamp("2026-03-30T15:00:00Z");
  json::array records = json::parse(R"([
    {"kind":"reservation","id":"r-active","active":true,"effective_expires_at":"2026-03-30T15:04:12+00:00",
     "data":{"run_id":"a","branch":"main","addresses":["w","x","y","z"]}},
    {"kind":"reservation","id":"r-released","active":false,"effective_expires_at":"2026-03-30T16:00:00+00:00",
     "data":{"run_id":"b"}},
    {"kind":"reservation","id":"r-old","active":false,"effective_expires_at":"2026-03-30T14:00:00+00:00",
     "data":{"run_id":"c"}},
    {"kind":"intent","id":"i-1","data":{"run_id":"d\u001b[2J"}}])")
                            .get_array();
  std::string table = coordd::format_record_table(records, now);
  CHECK(table.find("w, x, y +1 more") != std::string::npos);
  CHECK(table.find("2026-03-30T15:04:12+00:00 (in 4m12s)") != std::string::npos);
  CHECK(table.find("(released)") != std::string::npos);
  CHECK(table.find("(expired)") != std::string::npos);
  CHECK(table.find('\x1b') == std::string::npos);
  CHECK(table.ends_with("4 records\n"));
}

TEST_CASE("an empty list says so") {
  CHECK(coordd::format_record_table(json::array(), coordd::WallTime()) == "(no records)\n");
}
