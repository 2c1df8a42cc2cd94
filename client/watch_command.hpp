// `coordctl watch`: a drop-in for `muse coord watch`. Streams coordination
// events from coordd when one watches the repository, else from the same
// engine run in-process ("standalone"), through one printer either way.
// Its arguments are parsed as Python's argparse parses Muse's (see
// ArgparseParser). Main thread.
#pragma once

#include <string>
#include <vector>

#include "client/argparse_parser.hpp"
#include "client/watch_options.hpp"

namespace coordd {

inline constexpr const char* kWatchDescription =
    "Stream coordination events in real time (a drop-in for `muse coord watch`).";

// The parser of `coordctl watch`: Muse's options, then coordctl's.
ArgparseParser watch_parser();

// Parses `argv` (what follows `coordctl watch`) as argparse would and runs
// the watch. Returns the exit code: 0 after --help and on a normal end; 2
// on a usage error (the usage on stderr); else what run_watch() returns.
int run_watch_command(const std::vector<std::string>& argv);

// Runs a parsed watch; returns the exit code (0 on --once, --timeout,
// --max-events, SIGINT and SIGTERM; 1 on a value Muse refuses or when the
// watch cannot run; 2 outside a repository).
int run_watch(const WatchArgs& args);

// The " filter:" line of the text header ("" when nothing is filtered).
std::string filter_summary(const WatchOptions& options);

}  // namespace coordd
