// Who may watch or unwatch a root: the owner of the root, its .muse and its
// .muse/coordination (each that exists), or root. Owners come from a table
// standing in for lstat, so no test needs chown.
#include "daemon/server/root_authority.hpp"

#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

using namespace coordd;

namespace {

constexpr uid_t kMe = 1000;
constexpr uid_t kOther = 1001;

// The owners of the paths that exist; records every path asked about.
struct OwnerTable {
  std::map<std::string, uid_t> owners;
  std::vector<std::string> asked;

  OwnerLookup lookup() {
    return [this](const std::string& path) -> Result<std::optional<uid_t>> {
      asked.push_back(path);
      auto it = owners.find(path);
      return it == owners.end() ? std::optional<uid_t>() : std::optional<uid_t>(it->second);
    };
  }
};

}  // namespace

TEST_CASE("the owner of the root, its .muse and its coordination directory may watch it") {
  OwnerTable disk{{{"/r", kMe}, {"/r/.muse", kMe}, {"/r/.muse/coordination", kMe}}, {}};

  CHECK(check_root_authority("/r", kMe, disk.lookup()).ok());
  CHECK(disk.asked == std::vector<std::string>{"/r", "/r/.muse", "/r/.muse/coordination"});
}

TEST_CASE("owning the root is not enough when its .muse belongs to someone else") {
  OwnerTable disk{{{"/r", kMe}, {"/r/.muse", kOther}, {"/r/.muse/coordination", kMe}}, {}};

  Status allowed = check_root_authority("/r", kMe, disk.lookup());

  CHECK(allowed.code() == "bad_root");
  CHECK(allowed.message().find("/r/.muse is owned by uid 1001") != std::string::npos);
  CHECK(allowed.message().find("uid 1000") != std::string::npos);
}

TEST_CASE("a coordination directory of someone else's refuses the caller") {
  OwnerTable disk{{{"/r", kMe}, {"/r/.muse", kMe}, {"/r/.muse/coordination", kOther}}, {}};

  Status allowed = check_root_authority("/r/", kMe, disk.lookup());

  CHECK(allowed.code() == "bad_root");
  CHECK(allowed.message().find("/r/.muse/coordination is owned by uid 1001") != std::string::npos);
}

TEST_CASE("parts of the path that do not exist yet do not count against the owner") {
  OwnerTable disk{{{"/r", kMe}}, {}};

  CHECK(check_root_authority("/r", kMe, disk.lookup()).ok());
}

TEST_CASE("root may watch any directory, whoever owns it") {
  OwnerTable disk{{{"/r", kOther}, {"/r/.muse", kOther}}, {}};

  CHECK(check_root_authority("/r", 0, disk.lookup()).ok());
}

TEST_CASE("a path that cannot be inspected refuses the caller with the reason") {
  OwnerLookup failing = [](const std::string& path) -> Result<std::optional<uid_t>> {
    if (path == "/r") return std::optional<uid_t>(kMe);
    return Status::error("bad_root", "cannot inspect " + path + ": Permission denied");
  };

  Status allowed = check_root_authority("/r", kMe, failing);

  CHECK(allowed.code() == "bad_root");
  CHECK(allowed.message() == "cannot inspect /r/.muse: Permission denied");
}
