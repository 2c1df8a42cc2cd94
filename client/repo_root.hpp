// Which repository a coordctl command is about, found as Muse finds it
// (muse/core/repo.py): --root as given, else $MUSE_REPO_ROOT (a repository
// only if it holds .muse/), else the nearest ancestor of the working
// directory holding .muse/. Never the working directory by default: outside
// a repository the command fails with Muse's message. Reads the file system;
// main thread.
#pragma once

#include <optional>
#include <string>

namespace coordd {

// Muse's words when no repository is found (two lines, no final newline).
inline constexpr const char* kNotAMuseRepository =
    "fatal: not a muse repository (or any parent up to mount point /)\n"
    "Run \"muse init\" to initialize a new repository.";
// Muse's exit status for it (ExitCode.REPO_NOT_FOUND).
inline constexpr int kRepoNotFoundExit = 2;

struct ResolvedRoot {
  std::string path;        // absolute and canonical; empty when error is set
  std::string error;       // what was wrong, for the user
  bool not_found = false;  // no repository was found: error is kNotAMuseRepository
};

// `flag` is the --root value, if one was given.
ResolvedRoot resolve_root(const std::optional<std::string>& flag);

}  // namespace coordd
