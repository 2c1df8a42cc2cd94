// WatchPlan: what `coordctl watch` asks of an event source (coordd or the
// in-process engine), and the two things a source hands back: a Baseline (the
// watched root's records at one seq) and live protocol events after it. Both
// sources hand over the same shapes, so the output is produced by one code
// path (WatchView) whatever the mode and however often the source changes.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "proto/kind.hpp"
#include "proto/timestamp.hpp"

namespace coordd {

struct WatchPlan {
  std::string root;  // absolute, canonical
  std::optional<Kind> kind;
  std::optional<std::string> run_id;
  std::optional<std::string> branch;
  bool once = false;  // stop after the snapshot
  // Counted from the end of the snapshot, as Muse does; nullopt: no limit.
  std::optional<std::chrono::milliseconds> timeout;
  // Standalone only: the polling backend's scan interval, when the kernel
  // backend cannot watch the root (coordd has its own).
  std::chrono::milliseconds poll_interval{1000};
  // Also print the events coordd adds to Muse's (`expired` for claims).
  bool coordd_events = false;
};

// One record of the watched root as a source sees it.
struct BaselineRecord {
  Kind kind = Kind::kReservation;
  std::string id;
  std::uint64_t seq = 0;  // of the record's last change
  boost::json::object data;
  bool lease = false;                        // a reservation, or a claim with expires_at
  bool active = false;                       // leases only
  std::optional<WallTime> effective_expiry;  // leases only; nullopt when unparsable
};

// Every record of the watched root (of the plan's kind, if one) once every
// change up to `seq` was applied. Live events after it have seq > `seq`.
struct Baseline {
  std::uint64_t seq = 0;
  std::vector<BaselineRecord> records;
};

// When a watch with --timeout ends: set once the snapshot has been printed.
using WatchDeadline = std::optional<std::chrono::steady_clock::time_point>;

// Receives each event to print (a protocol event object). Returns false to
// end the watch (e.g. --max-events reached).
using EventHandler = std::function<bool(const boost::json::object& event)>;

// How a watch ended: "" for a normal end (--once, --timeout, the handler
// said stop, SIGINT, SIGTERM), else what went wrong.
using WatchError = std::string;

}  // namespace coordd
