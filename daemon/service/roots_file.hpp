// The --roots-file: the repositories to watch, one per line, re-read on
// SIGHUP. Blank lines and lines starting with '#' are ignored; a line
// `log-level LEVEL` sets the log level; any other line is a repository path
// (relative paths are relative to the file's directory). Pure parsing plus
// one read of the file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proto/status.hpp"

namespace coordd {

struct RootsFile {
  std::vector<std::string> roots;        // canonical absolute paths
  std::optional<std::string> log_level;  // trace|debug|info|warn|error
};

// Reads and checks the file; a failure's message names the file and line.
Result<RootsFile> read_roots_file(const std::string& path);

}  // namespace coordd
