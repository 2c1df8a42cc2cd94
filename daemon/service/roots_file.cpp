#include "daemon/service/roots_file.hpp"

#include <filesystem>
#include <fstream>

namespace coordd {

std::optional<RootsFile> read_roots_file(const std::string& path, std::string& error) {
  namespace fs = std::filesystem;
  std::ifstream in(path);
  if (!in) {
    error = "cannot read --roots-file " + path;
    return std::nullopt;
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
        error = where + "log-level must be trace, debug, info, warn or error";
        return std::nullopt;
      }
      result.log_level = level;
      continue;
    }
    std::error_code ec;
    fs::path root = fs::canonical(base / line, ec);
    if (ec || !fs::is_directory(root, ec)) {
      error = where + "'" + line + "' is not an existing directory";
      return std::nullopt;
    }
    result.roots.push_back(root.string());
  }
  return result;
}

}  // namespace coordd
