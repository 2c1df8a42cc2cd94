// Logging set-up for coordd: spdlog to stderr, or to --log-file. When stderr
// is journald's stream ($JOURNAL_STREAM matches it), lines carry <N> syslog
// priority prefixes and no timestamps, so the journal records real levels.
// Start-up and the reactor thread only.
#pragma once

#include <spdlog/common.h>

#include <string>

#include "proto/status.hpp"

namespace coordd {

// `file` empty: stderr. Returns "" or why the log file cannot be opened.
Status setup_logging(const std::string& file, spdlog::level::level_enum level);
// Reopens the log file (SIGHUP, after logrotate moved it); no-op for stderr.
void reopen_log();
// Whether stderr is connected to journald.
bool stderr_is_journal();

}  // namespace coordd
