// A temp workspace: TempDir, a directory mkdtemp makes under $TMPDIR (else
// /tmp) or a given parent, and Workspace, the files of one test or benchmark
// run inside one: repo/ (the watched root), sock/ and scratch room. Both are
// removed, with everything in them, on destruction. Make and drop on one thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace coordd::support {

namespace fs = std::filesystem;

// The seven kind directories under .muse/coordination, by their plural names.
inline constexpr std::string_view kKindDirs[] = {
    "reservations", "intents", "releases", "heartbeats", "tasks", "claims", "dependencies"};

class TempDir {
 public:
  // <parent>/<label>-XXXXXX; an empty parent means $TMPDIR, or /tmp when that
  // is unset. Throws std::runtime_error when it cannot be made.
  explicit TempDir(std::string_view label = "coordd-test", const fs::path& parent = {});
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }  // canonical

 private:
  fs::path path_;
};

struct WorkspaceOptions {
  std::string label = "coordd-test";  // the directory's name, before -XXXXXX
  fs::path parent;                    // where it goes; empty: as TempDir says
  // The kind directories made up front, so that writing records never
  // changes the directory layout under a running daemon.
  std::vector<std::string_view> kinds{std::begin(kKindDirs), std::end(kKindDirs)};
  bool make_socket_dir = false;  // make sock/ (0700) now, not when a daemon starts
};

// <dir>/repo is the watched root, <dir>/sock/coordd.sock the socket and
// <dir>/state the state directory.
class Workspace {
 public:
  // kFullTree makes every kind directory; kEmptyRepo none (repo/ alone).
  enum class Layout { kFullTree, kEmptyRepo };

  explicit Workspace(Layout layout = Layout::kFullTree);
  explicit Workspace(const WorkspaceOptions& options);

  const fs::path& dir() const { return tmp_.path(); }
  const fs::path& repo() const { return repo_; }  // canonical, as coordd reports it
  fs::path coordination() const { return repo_ / ".muse" / "coordination"; }
  // The directory of one kind, by its plural name: "reservations", "intents", ...
  fs::path kind_dir(std::string_view plural) const { return coordination() / plural; }
  fs::path socket_dir() const { return dir() / "sock"; }
  fs::path socket() const { return socket_dir() / "coordd.sock"; }
  // coordd's --state-dir (its message log), made by coordd: never the real
  // ~/.local/state.
  fs::path state_dir() const { return dir() / "state"; }
  // A path for the run's own files (logs, staging, notify sockets), outside the repo.
  fs::path scratch(std::string_view name) const { return dir() / name; }

  // Makes socket_dir() with mode 0700 unless it exists. Throws
  // std::runtime_error when mkdir fails.
  void make_socket_dir() const;

 private:
  TempDir tmp_;
  fs::path repo_;
};

}  // namespace coordd::support
