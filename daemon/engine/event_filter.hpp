// EventFilter: what a subscription or list request asks for. Conditions
// combine with AND, as in `muse coord watch`; an unset condition matches all.
#pragma once

#include <optional>
#include <string>

#include "daemon/engine/record_ref.hpp"
#include "proto/kind.hpp"

namespace coordd {

struct EventFilter {
  KindSet kinds;
  std::optional<std::string> run_id;
  std::optional<std::string> branch;
  std::optional<RootId> root;

  bool matches(RootId record_root, Kind kind, const std::string& record_run_id,
               const std::string& record_branch) const {
    return kinds.contains(kind) && (!root || *root == record_root) &&
           (!run_id || *run_id == record_run_id) && (!branch || *branch == record_branch);
  }
};

}  // namespace coordd
