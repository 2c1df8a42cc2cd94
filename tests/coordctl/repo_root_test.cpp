// repo_root: which repository a command is about.
#include "client/repo_root.hpp"

#include <doctest/doctest.h>
#include <stdlib.h>

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

TEST_CASE("outside any repository there is no default root: Muse's message, not the cwd") {
  coordctl_test::TempRepo repo;
  fs::path outside = fs::path(repo.root()).parent_path();
  in_directory(outside, [&] {
    coordd::ResolvedRoot root = resolve_root(std::nullopt);
    CHECK(root.not_found);
    CHECK(root.path.empty());
    CHECK(root.error == coordd::kNotAMuseRepository);
  });
}

TEST_CASE("MUSE_REPO_ROOT overrides discovery, and names no repository unless it holds .muse/") {
  coordctl_test::TempRepo repo;
  fs::path outside = fs::path(repo.root()).parent_path();
  ::setenv("MUSE_REPO_ROOT", repo.root().c_str(), 1);
  in_directory(outside, [&] { CHECK(resolve_root(std::nullopt).path == repo.root()); });
  ::setenv("MUSE_REPO_ROOT", outside.c_str(), 1);
  in_directory(repo.root(), [&] { CHECK(resolve_root(std::nullopt).not_found); });
  ::unsetenv("MUSE_REPO_ROOT");
}
