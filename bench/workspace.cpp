#include "bench/workspace.hpp"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace coordd::bench {

Workspace::Workspace(const fs::path& parent, std::string_view label) {
  fs::create_directories(parent);
  std::string pattern = (parent / (std::string(label) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
  }
  dir_ = pattern;
  fs::create_directory(dir_ / "repo");
  repo_ = fs::canonical(dir_ / "repo");  // coordd reports canonical roots
  for (std::string_view kind : kKindDirs) fs::create_directories(kind_dir(kind));
  if (::mkdir((dir_ / "sock").c_str(), 0700) != 0) {
    throw std::runtime_error("mkdir " + (dir_ / "sock").string() + ": " + std::strerror(errno));
  }
}

Workspace::~Workspace() {
  std::error_code ignored;
  fs::remove_all(dir_, ignored);
}

}  // namespace coordd::bench
