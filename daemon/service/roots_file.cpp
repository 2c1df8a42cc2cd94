#include "daemon/service/roots_file.hpp"

#include <filesystem>
#include <fstream>

namespace coordd {

Result<RootsFile> read_roots_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::ifstream in(path);
  if (!in) {
    return Status::error("roots_file", "cannot read --roots-file " + path);
  }
  RootsFile result;
  fs::path base = fs::absolute(path).parent_path();
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos || line[first] == '#') continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    std::string where = path + ":" + std::to_string(number) + ": ";
    if (line.starts_with("log-level")) {
      std::string level = line.substr(9);
      level.erase(0, level.find_first_not_of(" \t="));
      if (level != "trace" && level != "debug" && level != "info" && level != "warn" &&
          level != "error") {
        return Status::error("roots_file",
                             where + "log-level must be trace, debug, info, warn or error");
      }
      result.log_level = level;
      continue;
    }
    std::error_code ec;
    fs::path root = fs::canonical(base / line, ec);
    if (ec || !fs::is_directory(root, ec)) {
      return Status::error("roots_file", where + "'" + line + "' is not an existing directory");
    }
    result.roots.push_back(root.string());
  }
  return result;
}

}  // namespace coordd
