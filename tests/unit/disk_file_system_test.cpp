// DiskFileSystem on a real directory tree: no symlink anywhere below the
// root is followed, whichever way the path is resolved, so a directory
// swapped for a symlink to somewhere else yields nothing from there.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "daemon/engine/file_system.hpp"
#include "tests/support/workspace.hpp"

namespace fs = std::filesystem;
using coordd::DirStatus;
using coordd::DiskFileSystem;
using coordd::PathWalk;
using coordd::ReadStatus;

namespace {

// <tmp>/repo/.muse/coordination/reservations/r.json, and <tmp>/outside/
// holding a file of the same name an attacker would like read.
struct Tree {
  coordd::support::TempDir dir{"coordd-fs-test"};
  fs::path kind = dir.path() / "repo/.muse/coordination/reservations";
  fs::path outside = dir.path() / "outside";

  Tree() {
    fs::create_directories(kind);
    fs::create_directories(outside);
    std::ofstream(kind / "r.json") << R"({"mine":true})";
    std::ofstream(outside / "r.json") << R"({"secret":true})";
  }
  // Replaces `dir` (a directory of the tree) by a symlink to outside/.
  void swap_for_link(const fs::path& path) const {
    fs::rename(path, path.string() + ".moved");
    fs::create_directory_symlink(outside, path);
  }
};

}  // namespace

TEST_CASE("open_no_symlinks opens a plain path and refuses a symlink in any component") {
  Tree tree;
  for (PathWalk walk : {PathWalk::kKernel, PathWalk::kComponents}) {
    CAPTURE(int(walk));
    std::string file = (tree.kind / "r.json").string();
    int fd = coordd::open_no_symlinks(file, O_RDONLY, 0, walk);
    CHECK(fd >= 0);
    if (fd >= 0) ::close(fd);
    fs::create_symlink(tree.outside / "r.json", tree.kind / "link.json");
    CHECK(coordd::open_no_symlinks((tree.kind / "link.json").string(), O_RDONLY, 0, walk) == -1);
    CHECK(errno == ELOOP);
    fs::remove(tree.kind / "link.json");
  }
}

TEST_CASE("a kind directory swapped for a symlink is never read through") {
  for (PathWalk walk : {PathWalk::kKernel, PathWalk::kComponents}) {
    CAPTURE(int(walk));
    Tree tree;
    tree.swap_for_link(tree.kind);
    CHECK(coordd::open_no_symlinks((tree.kind / "r.json").string(), O_RDONLY, 0, walk) == -1);
    CHECK(errno == ELOOP);
  }
  Tree tree;
  tree.swap_for_link(tree.kind);
  DiskFileSystem disk;
  coordd::ReadResult read = disk.read_file((tree.kind / "r.json").string(), 1 << 20);
  CHECK(read.status == ReadStatus::kSymlink);
  CHECK(read.bytes.empty());
  CHECK(disk.list_dir(tree.kind.string(), true).status == DirStatus::kSymlink);
  CHECK(disk.probe_dir(tree.kind.string()) == DirStatus::kSymlink);
}

TEST_CASE("a .muse or coordination directory swapped for a symlink hides everything below it") {
  for (std::string swapped : {"repo/.muse", "repo/.muse/coordination"}) {
    CAPTURE(swapped);
    Tree tree;
    // The attacker's copy of the layout, so a followed link would find a record.
    fs::create_directories(tree.outside / ".muse/coordination/reservations");
    fs::create_directories(tree.outside / "coordination/reservations");
    fs::create_directories(tree.outside / "reservations");
    std::ofstream(tree.outside / ".muse/coordination/reservations/r.json") << "{}";
    std::ofstream(tree.outside / "coordination/reservations/r.json") << "{}";
    std::ofstream(tree.outside / "reservations/r.json") << "{}";
    tree.swap_for_link(tree.dir.path() / swapped);
    DiskFileSystem disk;
    CHECK(disk.read_file((tree.kind / "r.json").string(), 1 << 20).status == ReadStatus::kSymlink);
    CHECK(disk.list_dir(tree.kind.string(), true).status == DirStatus::kSymlink);
    CHECK(disk.probe_dir(tree.kind.string()) == DirStatus::kSymlink);
    CHECK_FALSE(disk.create_file((tree.kind / ".cookie").string()).ok());
  }
}

TEST_CASE("cookies are created and removed in the real directory, never through a symlink") {
  Tree tree;
  DiskFileSystem disk;
  std::string cookie = (tree.kind / ".coordd-cookie-1").string();
  CHECK(disk.create_file(cookie).ok());
  CHECK(fs::exists(cookie));
  disk.remove_file(cookie);
  CHECK_FALSE(fs::exists(cookie));
  tree.swap_for_link(tree.kind);
  CHECK_FALSE(disk.create_file(cookie).ok());
  CHECK_FALSE(fs::exists(tree.outside / ".coordd-cookie-1"));
  std::ofstream(tree.outside / ".coordd-cookie-2") << "";
  disk.remove_file((tree.kind / ".coordd-cookie-2").string());
  CHECK(fs::exists(tree.outside / ".coordd-cookie-2"));
}

TEST_CASE(
    "replace_file writes atomically, makes a missing kind directory, and never follows a "
    "symlink") {
  Tree tree;
  DiskFileSystem disk;
  auto slurp = [](const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  std::string record = (tree.kind / "r.json").string();
  CHECK(disk.replace_file(record, R"({"new":true})", false).ok());
  CHECK(slurp(record) == R"({"new":true})");
  // Nothing is left beside it.
  CHECK(std::distance(fs::directory_iterator(tree.kind), fs::directory_iterator()) == 1);

  SUBCASE("only_if_absent leaves an existing file alone and says so") {
    coordd::Status refused = disk.replace_file(record, R"({"copy":true})", true);
    CHECK(refused.code() == "exists");
    CHECK(slurp(record) == R"({"new":true})");
    CHECK(std::distance(fs::directory_iterator(tree.kind), fs::directory_iterator()) == 1);
    std::string fresh = (tree.kind / "s.json").string();
    CHECK(disk.replace_file(fresh, "{}", true).ok());
    CHECK(slurp(fresh) == "{}");
  }
  SUBCASE("a kind directory that does not exist yet is made") {
    fs::path tasks = tree.kind.parent_path() / "tasks";
    CHECK(disk.replace_file((tasks / "t.json").string(), "{}", true).ok());
    CHECK(fs::is_directory(tasks));
    CHECK(slurp(tasks / "t.json") == "{}");
  }
  SUBCASE("a kind directory swapped for a symlink is not written through") {
    tree.swap_for_link(tree.kind);
    CHECK_FALSE(disk.replace_file(record, R"({"evil":true})", false).ok());
    CHECK(slurp(tree.outside / "r.json") == R"({"secret":true})");
  }
  SUBCASE("a stale temp file of a run that died mid-write does not block the next write") {
    std::ofstream(tree.kind / ".r.json.coordd.tmp") << "partial";
    CHECK(disk.replace_file(record, R"({"again":true})", false).ok());
    CHECK(slurp(record) == R"({"again":true})");
    CHECK_FALSE(fs::exists(tree.kind / ".r.json.coordd.tmp"));
  }
}
