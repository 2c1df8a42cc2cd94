#include "daemon/server/root_authority.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace coordd {

Result<std::optional<uid_t>> disk_owner(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return std::optional<uid_t>(st.st_uid);
  if (errno == ENOENT || errno == ENOTDIR) return std::optional<uid_t>();
  return Status::error("bad_root", "cannot inspect " + path + ": " + std::strerror(errno));
}

Status check_root_authority(const std::string& root, uid_t caller, const OwnerLookup& owner_of) {
  if (caller == 0) return Status();
  std::string base = root;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  for (const std::string& path : {base, base + "/.muse", base + "/.muse/coordination"}) {
    Result<std::optional<uid_t>> owner = owner_of(path);
    if (!owner.ok()) return owner.status();
    if (*owner && **owner != caller) {
      return Status::error("bad_root", path + " is owned by uid " + std::to_string(**owner) +
                                           ", not by you (uid " + std::to_string(caller) +
                                           "); only the owner of the root, its .muse and "
                                           ".muse/coordination (or root) may watch or unwatch it");
    }
  }
  return Status();
}

}  // namespace coordd
