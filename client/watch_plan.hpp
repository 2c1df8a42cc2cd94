// WatchPlan: what `coordctl watch` asks of an event source (a daemon
// subscription or the in-process engine) and how the source reports back.
// Both sources hand over the same thing, a parsed protocol event, so the
// output is produced by one code path whatever the mode.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "proto/kind.hpp"

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
};

// Receives each matching event (snapshot first, then live, in seq order).
// Returns false to end the watch (e.g. --max-events reached).
using EventHandler = std::function<bool(const boost::json::object& event)>;

// How a watch ended: "" for a normal end (--once, --timeout, the handler
// said stop, SIGINT, SIGTERM), else what went wrong.
using WatchError = std::string;

}  // namespace coordd
