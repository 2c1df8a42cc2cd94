#include "client/repo_root.hpp"

#include <cstdlib>
#include <filesystem>

namespace coordd {
namespace fs = std::filesystem;

namespace {

bool holds_muse(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / ".muse", ec);
}

std::optional<fs::path> find_repository(std::string& error) {
  std::error_code ec;
  // Path(...).resolve(): symlinks resolved as far as the path exists.
  if (const char* env = std::getenv("MUSE_REPO_ROOT"); env && *env) {
    fs::path root = fs::weakly_canonical(fs::absolute(env, ec), ec);
    if (!ec && holds_muse(root)) return root;
    return std::nullopt;
  }
  fs::path cwd = fs::current_path(ec);
  if (ec) {
    error = "cannot read the working directory: " + ec.message() + "; pass --root DIR";
    return std::nullopt;
  }
  for (fs::path dir = fs::weakly_canonical(cwd, ec);; dir = dir.parent_path()) {
    if (holds_muse(dir)) return dir;
    if (dir == dir.parent_path()) return std::nullopt;
  }
}

}  // namespace

ResolvedRoot resolve_root(const std::optional<std::string>& flag) {
  std::error_code ec;
  fs::path wanted;
  if (flag) {
    wanted = *flag;
  } else {
    std::string error;
    std::optional<fs::path> found = find_repository(error);
    if (!found) {
      if (!error.empty()) return {"", error, false};
      return {"", kNotAMuseRepository, true};
    }
    wanted = *found;
  }
  // Canonical, as coordd names its roots, so the two can be compared.
  fs::path canonical = fs::canonical(wanted, ec);
  if (ec) return {"", "--root " + wanted.string() + ": " + ec.message(), false};
  if (!fs::is_directory(canonical, ec))
    return {"", "--root " + wanted.string() + " is not a directory", false};
  return {canonical.string(), "", false};
}

}  // namespace coordd
