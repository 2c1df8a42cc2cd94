// A client of coordd running as another user, as `setpriv --reuid=U
// --regid=G --clear-groups` would run it: a forked child drops to uid/gid,
// connects, sends each request in turn and reports, through a pipe, every
// line it read and whether coordd hung up. The daemon sees that uid through
// SO_PEERCRED. Needs root (to change uid) and a socket path that uid can
// reach. doctest's main thread only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "tests/supervised/supervised_process.hpp"

namespace coordd::integration {

// The uid and gid of "nobody" on Debian.
inline constexpr uid_t kNobodyUid = 65534;
inline constexpr gid_t kNobodyGid = 65534;

struct ForeignConversation {
  std::vector<json::object> lines;  // every line read, in order
  bool hung_up = false;             // coordd closed the connection
  std::vector<std::size_t> unsent;  // requests whose send failed (EPIPE, a reset)
  std::string failure;              // why the child stopped early, if it did

  // The line that answered requests[index] (it echoes its "req"); fails the
  // test, showing the conversation, when there is none.
  json::object reply_to(std::size_t index) const;
  std::string describe() const;
};

// Who the client runs as.
struct ForeignUser {
  uid_t uid = kNobodyUid;
  gid_t gid = kNobodyGid;
  std::vector<gid_t> groups;  // supplementary groups; none by default
};

// Runs `requests` one after another as `user` over a new connection to
// `socket`: each is sent with "req":"r<index>" and answered before the next
// is sent. Stops early when coordd hangs up.
ForeignConversation converse_as(const ForeignUser& user, const fs::path& socket,
                                const std::vector<json::object>& requests);

// Opens `connections` connections to `socket` one after another as `user`,
// reading each one's first line; returns how many of those were a
// `forbidden` error (fails the test when the child cannot run).
std::size_t count_refusals_as(const ForeignUser& user, const fs::path& socket,
                              std::size_t connections);

}  // namespace coordd::integration
