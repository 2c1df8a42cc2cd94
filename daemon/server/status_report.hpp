// The `status` reply: what coordd reports about itself (uptime, backends,
// roots, records, leases, clients, counters, journal, agents, limits), read
// from the components that own each figure. Reactor thread only.
#pragma once

#include <boost/json/object.hpp>

#include "daemon/server/daemon_info.hpp"

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

// Every field of the status reply after type and req, in PROTOCOL.md's
// order (proto/wire.hpp's reply_line writes the line).
boost::json::object status_fields(const StatusSources& sources);

}  // namespace coordd
