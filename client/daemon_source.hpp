// DaemonSource: events from coordd. Subscribes on a greeted connection with
// the plan's filters and root, reads the snapshot, then live events, until
// the plan or the handler ends the watch or SIGINT/SIGTERM arrive (see
// StopSignals, which must be installed). Lines of types it does not know are
// ignored; a `lagged` marker is reported on stderr. Main thread; blocking.
#pragma once

#include "client/coord_client.hpp"
#include "client/watch_plan.hpp"

namespace coordd {

class DaemonSource {
 public:
  // `client` must be connected and outlive this source.
  DaemonSource(CoordClient& client, WatchPlan plan);

  WatchError run(const EventHandler& on_event);

 private:
  CoordClient& client_;
  WatchPlan plan_;
};

}  // namespace coordd
