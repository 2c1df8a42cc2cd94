// repo_root: which repository a command is about.
#include "client/repo_root.hpp"

#include <doctest/doctest.h>

#include <filesystem>

#include "coordd_fixture.hpp"

namespace fs = std::filesystem;
using coordd::resolve_root;

namespace {

// Runs `body` with the working directory set to `dir`, then restores it.
template <typename Body>
void in_directory(const fs::path& dir, Body body) {
  fs::path before = fs::current_path();
  fs::current_path(dir);
  body();
  fs::current_path(before);
}

}  // namespace

TEST_CASE(
    "without --root, the root is the nearest ancestor of the working directory holding .muse/") {
  coordctl_test::TempRepo repo;
  fs::create_directories(repo.root() + "/src/deep");
  in_directory(repo.root() + "/src/deep", [&] {
    coordd::ResolvedRoot root = resolve_root(std::nullopt);
    CHECK(root.error.empty());
    CHECK(root.path == repo.root());
  });
}

TEST_CASE("--root is made canonical, and a missing one is an error naming it") {
  coordctl_test::TempRepo repo;
  CHECK(resolve_root(repo.root() + "/.muse/..").path == repo.root());
  coordd::ResolvedRoot missing = resolve_root(std::string("/nonexistent/repo"));
  CHECK(missing.path.empty());
  CHECK(missing.error.starts_with("--root /nonexistent/repo: "));
}
