// ISO 8601 timestamps: read exactly as Python 3.11's datetime.fromisoformat
// reads them (what Muse parses expires_at with), and written as Python's
// datetime.isoformat() writes an aware UTC time. Pure functions; safe from any
// thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace coordd {

using WallTime = std::chrono::sys_time<std::chrono::microseconds>;

// The ends of Python's datetime range, 0001-01-01 and 9999-12-31T23:59:59.999999.
inline constexpr WallTime kFirstWallTime{
    std::chrono::sys_days{std::chrono::year{1} / std::chrono::January / 1}};
inline constexpr WallTime kLastWallTime{
    std::chrono::sys_days{std::chrono::year{9999} / std::chrono::December / 31} +
    std::chrono::days{1} - std::chrono::microseconds{1}};

// The UTC instant `text` names when Python 3.11's datetime.fromisoformat
// accepts it, else nullopt. That is: a date YYYY-MM-DD, YYYYMMDD, YYYY-Www[-D]
// or YYYYWww[D]; then optionally any one character and a time HH[[:]MM[[:]SS]]
// with a fraction after '.' or ',' (digits past six dropped); then optionally
// Z or an offset ±HH[[:]MM[[:]SS[.f]]] strictly within a day. Fields out of
// range (month 13, Feb 29 of 2026, hour 24, second 60) are refused. A time
// without an offset is UTC. An offset may carry the instant up to a day
// outside years 1-9999 (0001-01-01T00:00+01:00), as it does in Python.
std::optional<WallTime> parse_timestamp(std::string_view text);

// "2026-03-30T15:00:00.123456+00:00", exactly as Python prints an aware UTC
// datetime (the fraction is omitted when it is zero). An instant outside
// years 1-9999 in UTC gets the smallest whole-minute offset that keeps its
// date inside them (10000-01-01T03:58Z is "9999-12-31T23:59:00-03:59"), or
// the exact one where that would be a whole day, so Python reads it back.
std::string format_timestamp(WallTime time);

}  // namespace coordd
