#include "tests/support/workspace.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace coordd::support {
namespace {

fs::path temp_root() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp != nullptr && *tmp != '\0' ? fs::path(tmp) : fs::path("/tmp");
}

WorkspaceOptions options_for(Workspace::Layout layout) {
  WorkspaceOptions options;
  if (layout == Workspace::Layout::kEmptyRepo) options.kinds.clear();
  return options;
}

}  // namespace

TempDir::TempDir(std::string_view label, const fs::path& parent) {
  fs::path base = parent.empty() ? temp_root() : parent;
  if (!parent.empty()) fs::create_directories(base);
  std::string pattern = (base / (std::string(label) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  path_ = fs::canonical(pattern);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

Workspace::Workspace(Layout layout) : Workspace(options_for(layout)) {}

Workspace::Workspace(const WorkspaceOptions& options)
    : tmp_(options.label, options.parent), repo_(tmp_.path() / "repo") {
  fs::create_directory(repo_);
  for (std::string_view plural : options.kinds) fs::create_directories(kind_dir(plural));
  if (options.make_socket_dir) make_socket_dir();
}

void Workspace::make_socket_dir() const {
  if (fs::exists(socket_dir())) return;
  if (::mkdir(socket_dir().c_str(), 0700) != 0) {
    throw std::runtime_error("mkdir " + socket_dir().string() + ": " + std::strerror(errno));
  }
}

}  // namespace coordd::support
