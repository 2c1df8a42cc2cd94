// `coordctl watch`: a drop-in for `muse coord watch`. Streams coordination
// events from coordd when one watches the repository, else from the same
// engine run in-process ("standalone"), through one printer either way.
// Main thread.
#pragma once

#include <CLI/CLI.hpp>

#include "client/watch_options.hpp"

namespace coordd {

// Registers the subcommand and its flags, writing into `args`.
CLI::App* add_watch_command(CLI::App& app, WatchArgs& args);

// Runs it; returns the exit code (0 on --once, --timeout, --max-events,
// SIGINT and SIGTERM; 1 on bad arguments or when the watch cannot run).
int run_watch(const WatchArgs& args);

// The " filter:" line of the text header ("" when nothing is filtered).
std::string filter_summary(const WatchOptions& options);

}  // namespace coordd
