#include "daemon/server/status_report.hpp"

#include <unistd.h>

#include "daemon/bus/message_bus.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/server/connection.hpp"
#include "daemon/server/connection_manager.hpp"
#include "daemon/server/event_journal.hpp"
#include "daemon/watch/monitor.hpp"
#include "daemon/watch/sync_barrier.hpp"
#include "proto/event_names.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

json::object journal_object(const EventJournal& journal) {
  json::object out;
  out["events"] = journal.size();
  out["bytes"] = journal.bytes();
  out["oldest_seq"] = journal.oldest_seq();
  out["newest_seq"] = journal.newest_seq();
  out["replayable_after_seq"] = journal.evicted_through();
  return out;
}

json::object limits_object(const StatusSources& sources) {
  json::object limits;
  limits["max_frame_bytes"] = sources.limits.max_frame_bytes;
  limits["queue_max_events"] = sources.limits.queue_max_lines;
  limits["queue_max_bytes"] = sources.limits.queue_max_bytes;
  limits["slow_consumer_grace_ms"] = sources.limits.slow_consumer_grace.count();
  limits["mailbox_max_messages"] = sources.bus.limits().mailbox_messages;
  limits["mailbox_max_bytes"] = sources.bus.limits().mailbox_bytes;
  limits["mailbox_total_max_bytes"] = sources.bus.limits().mailbox_total_bytes;
  limits["mailbox_ttl_ms"] = sources.bus.limits().mailbox_ttl.count();
  return limits;
}

}  // namespace

json::object status_fields(const StatusSources& sources) {
  json::object out;
  const Engine& engine = sources.monitor.engine();
  const EngineCounters& counters = engine.counters();

  out["version"] = COORDD_VERSION;
  out["proto"] = kProtocolVersion;
  out["epoch"] = sources.info.epoch;
  out["pid"] = ::getpid();
  out["uptime_s"] = std::chrono::duration_cast<std::chrono::seconds>(engine.clock().steady_now() -
                                                                     sources.info.started)
                        .count();
  out["backend"] = sources.info.backend ? sources.info.backend() : "none";
  json::array root_backends;
  std::size_t degraded_roots = 0;
  for (RootId root : engine.root_ids()) {
    json::object entry;
    entry["path"] = engine.root_path(root);
    entry["backend"] = sources.monitor.backend_of(root);
    std::string degraded = sources.monitor.degraded_reason(root);
    if (!degraded.empty()) {
      entry["degraded"] = std::move(degraded);
      ++degraded_roots;
    }
    root_backends.push_back(std::move(entry));
  }
  out["root_backends"] = std::move(root_backends);
  if (sources.info.cluster) out["cluster"] = sources.info.cluster->status();
  out["degraded_roots"] = degraded_roots;
  out["seq"] = engine.last_seq();
  json::array roots;
  for (RootId root : engine.root_ids()) roots.emplace_back(engine.root_path(root));
  out["roots"] = std::move(roots);
  json::object records;
  for (Kind kind : kAllKinds) records[kind_name(kind)] = engine.store().count(kind);
  out["records"] = std::move(records);
  out["records_total"] = engine.store().size();
  out["active_leases"] = engine.leases().active_count();
  if (auto next = engine.next_deadline()) out["next_expiry"] = format_timestamp(*next);
  out["clients"] = sources.manager.size();
  out["clients_accepted"] = sources.manager.accepted();
  out["subscriptions"] = sources.manager.subscription_count();
  out["events_emitted"] = counters.events_emitted;
  out["bad_files_skipped"] = counters.bad_files_skipped;
  out["symlinks_refused"] = counters.symlinks_refused;
  out["bad_files"] = engine.bad_file_count();
  out["overflows"] = counters.overflows;
  out["rescans"] = counters.rescans;
  out["syncs_pending"] = sources.sync.pending();
  json::object agents;
  agents["connected"] = sources.bus.agents_connected();
  agents["mailboxes"] = sources.bus.mailboxes();
  agents["messages_waiting"] = sources.bus.messages_waiting();
  agents["mailbox_bytes"] = sources.bus.mailbox_bytes();
  json::array list;
  for (const MessageBus::AgentState& state : sources.bus.agent_states()) {
    json::object entry;
    entry["agent"] = state.agent;
    entry["connected"] = state.connected;
    entry["waiting"] = state.waiting;
    list.push_back(std::move(entry));
  }
  agents["list"] = std::move(list);
  out["agents"] = std::move(agents);
  out["message_log"] =
      sources.bus.store() ? json::value(sources.bus.store()->describe()) : json::value(nullptr);
  out["last_rescan_cause"] = counters.last_rescan_cause
                                 ? json::value(rescan_cause_name(*counters.last_rescan_cause))
                                 : json::value(nullptr);
  out["journal"] = journal_object(sources.journal);
  out["limits"] = limits_object(sources);
  return out;
}

}  // namespace coordd
