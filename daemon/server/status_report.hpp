// The `status` reply: what coordd reports about itself (uptime, backends,
// roots, records, leases, clients, counters, journal, agents, limits), read
// from the components that own each figure. Reactor thread only.
#pragma once

#include <boost/json/object.hpp>

#include "daemon/server/request_handler.hpp"

namespace coordd {

class ConnectionManager;
class EventJournal;
class MessageBus;
class Monitor;
class SyncBarrier;
struct ConnectionLimits;

struct StatusSources {
  const Monitor& monitor;
  const EventJournal& journal;
  const ConnectionManager& manager;
  const SyncBarrier& sync;
  const MessageBus& bus;
  const ConnectionLimits& limits;
  const DaemonInfo& info;
};

// Adds every status field to `out` (which already holds type and req).
void add_status(const StatusSources& sources, boost::json::object& out);

}  // namespace coordd
