// DaemonInfo: facts about this daemon run that replies (hello, status)
// report. Set once at start-up by the service layer; read-only afterwards.
#pragma once

#include <functional>
#include <string>

#include "daemon/engine/clock.hpp"
#include "daemon/server/cluster_view.hpp"

namespace coordd {

struct DaemonInfo {
  std::string epoch;  // names this run; changes on every start
  SteadyTime started{};
  std::function<std::string()> backend;  // "inotify", "poll", ...
  bool test_hooks = false;               // enables debug_stall (tests only)
  ClusterView* cluster = nullptr;        // set when the daemon joined a swarm (--cluster)
};

}  // namespace coordd
