// EventFilter: what a subscription or list request asks for. Conditions
// combine with AND, as in `muse coord watch`; an unset condition matches all.
#pragma once

#include <optional>
#include <set>
#include <string>

#include "daemon/engine/record_ref.hpp"
#include "proto/kind.hpp"

namespace coordd {

// Which hosts' records: every one, this host's, the others', or a list of host ids.
struct OriginFilter {
  enum class Scope { kAll, kLocal, kRemote, kHosts };
  Scope scope = Scope::kAll;
  std::set<std::string, std::less<>> hosts;  // for kHosts

  // `origin` is the record's host id ("" on a daemon that is not clustered).
  bool matches(bool remote, std::string_view origin) const {
    switch (scope) {
      case Scope::kAll:
        return true;
      case Scope::kLocal:
        return !remote;
      case Scope::kRemote:
        return remote;
      case Scope::kHosts:
        return hosts.contains(origin);
    }
    return true;
  }
};

struct EventFilter {
  KindSet kinds;
  std::optional<std::string> run_id;
  std::optional<std::string> branch;
  // The local root: records merged under it from other hosts match it too.
  std::optional<RootId> root;
  OriginFilter origin;

  bool matches(RootId record_root, Kind kind, const std::string& record_run_id,
               const std::string& record_branch) const {
    return kinds.contains(kind) && (!root || *root == record_root) &&
           (!run_id || *run_id == record_run_id) && (!branch || *branch == record_branch);
  }
  bool matches(RootId record_root, Kind kind, const std::string& record_run_id,
               const std::string& record_branch, bool remote, std::string_view origin_host) const {
    return matches(record_root, kind, record_run_id, record_branch) &&
           origin.matches(remote, origin_host);
  }
};

}  // namespace coordd
