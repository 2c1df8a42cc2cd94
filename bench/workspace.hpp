// Workspace: the files of one benchmark run, in a fresh directory under the
// harness's scratch directory: repo/ (the watched root, every kind directory
// made up front so writing records never changes the layout under a watcher),
// sock/ (0700, for coordd's socket) and room for logs. Removed, with
// everything in it, on destruction. Main thread only.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace coordd::bench {

namespace fs = std::filesystem;

// The seven kind directories, by their plural names.
inline constexpr std::string_view kKindDirs[] = {
    "reservations", "intents", "releases", "heartbeats", "tasks", "claims", "dependencies"};

class Workspace {
 public:
  // Throws std::runtime_error when the directory cannot be made.
  Workspace(const fs::path& parent, std::string_view label);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const fs::path& repo() const { return repo_; }
  fs::path kind_dir(std::string_view plural) const {
    return repo_ / ".muse" / "coordination" / plural;
  }
  fs::path socket() const { return dir_ / "sock" / "coordd.sock"; }
  // A path for the run's own files (logs, notify socket), outside the repo.
  fs::path scratch(std::string_view name) const { return dir_ / name; }

 private:
  fs::path dir_;
  fs::path repo_;
};

}  // namespace coordd::bench
