#include "client/repo_root.hpp"

#include <filesystem>

namespace coordd {
namespace fs = std::filesystem;

namespace {

std::optional<fs::path> nearest_muse_ancestor(const fs::path& start) {
  for (fs::path dir = start; !dir.empty(); dir = dir.parent_path()) {
    std::error_code ec;
    if (fs::is_directory(dir / ".muse", ec)) return dir;
    if (dir == dir.root_path()) break;
  }
  return std::nullopt;
}

}  // namespace

ResolvedRoot resolve_root(const std::optional<std::string>& flag) {
  std::error_code ec;
  fs::path wanted;
  if (flag) {
    wanted = *flag;
  } else {
    fs::path cwd = fs::current_path(ec);
    if (ec) return {"", "cannot read the working directory: " + ec.message() + "; pass --root DIR"};
    wanted = nearest_muse_ancestor(cwd).value_or(cwd);
  }
  // Canonical, as coordd names its roots, so the two can be compared.
  fs::path canonical = fs::canonical(wanted, ec);
  if (ec) return {"", "--root " + wanted.string() + ": " + ec.message()};
  if (!fs::is_directory(canonical, ec))
    return {"", "--root " + wanted.string() + " is not a directory"};
  return {canonical.string(), ""};
}

}  // namespace coordd
