// Who may add or remove a root at run time (watch_root, unwatch_root): the
// owner of the whole path down to the coordination directory -- the root,
// <root>/.muse and <root>/.muse/coordination, each one that exists must
// belong to the caller's uid -- or root. Otherwise another user could point
// coordd at a directory tree they cannot write, or stop the watch on one
// that is not theirs. The owners come from an OwnerLookup, so tests need no
// chown. Pure logic plus lstat(2); any thread.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "proto/status.hpp"

namespace coordd {

// The uid owning `path` (a final symlink is not followed), nullopt when
// nothing is there, or an error when it cannot be inspected.
using OwnerLookup = std::function<Result<std::optional<uid_t>>(const std::string& path)>;

// lstat(2).
Result<std::optional<uid_t>> disk_owner(const std::string& path);

// Ok, or `bad_root` naming the first path on the way that `caller` does not
// own and who does.
Status check_root_authority(const std::string& root, uid_t caller,
                            const OwnerLookup& owner_of = disk_owner);

}  // namespace coordd
