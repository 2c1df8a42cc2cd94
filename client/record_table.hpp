// The text table of `coordctl list`: one row per record of a list reply with
// kind, full id, run_id@branch, addresses (first 3, "+N more") and, for
// leases, the effective expiry with the time left ("in 4m12s") or what ended
// it. Agent-supplied strings are stripped of control characters. Pure.
#pragma once

#include <boost/json/array.hpp>
#include <chrono>
#include <string>

#include "proto/timestamp.hpp"

namespace coordd {

// "42s", "4m12s", "3h05m", "2d03h"; negative durations count as 0s.
std::string format_time_left(std::chrono::microseconds left);

// The table for a list reply's "records", each line ending in '\n'.
std::string format_record_table(const boost::json::array& records, WallTime now);

}  // namespace coordd
