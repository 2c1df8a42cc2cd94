// Which repository a command is about: --root as given, else the nearest
// ancestor of the working directory holding .muse/ (as muse and coordd find
// it), else the working directory. Reads the file system; main thread.
#pragma once

#include <optional>
#include <string>

namespace coordd {

struct ResolvedRoot {
  std::string path;   // absolute and canonical; empty when error is set
  std::string error;  // what was wrong with --root, for the user
};

// `flag` is the --root value, if one was given.
ResolvedRoot resolve_root(const std::optional<std::string>& flag);

}  // namespace coordd
