// ISO 8601 timestamps as Python's datetime.isoformat() writes them, parsed to
// and formatted from UTC microseconds. Pure functions; safe from any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace coordd {

using WallTime = std::chrono::sys_time<std::chrono::microseconds>;

// Parses "YYYY-MM-DD[(T| )HH:MM[:SS[.f{1,9}]]][Z|±HH:MM[:SS[.ffffff]]|±HHMM]".
// A missing offset means UTC. Returns nullopt for anything else, including
// out-of-range fields (month 13, Feb 30, hour 24, second 60) and times that
// fall outside years 1-9999 once the offset is applied.
std::optional<WallTime> parse_timestamp(std::string_view text);

// "2026-03-30T15:00:00.123456+00:00", exactly as Python prints an aware UTC
// datetime (the fraction is omitted when it is zero).
std::string format_timestamp(WallTime time);

}  // namespace coordd
