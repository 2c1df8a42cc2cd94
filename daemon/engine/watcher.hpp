// Watcher: a kernel (or polling) facility that tells the engine which record
// files may have changed. Backends report names only; the engine reads and
// validates. All calls and callbacks happen on the reactor thread.
#pragma once

#include <string>
#include <string_view>

#include "daemon/engine/record_ref.hpp"

namespace coordd {

enum class RescanCause {
  kInitial,           // a root was just added
  kOverflow,          // the kernel queue overflowed: events were lost
  kDirectoryChanged,  // a coordination directory appeared, vanished or was replaced
  kDirectoryWrite,    // a kind directory's entries changed; which file is unknown (kqueue)
  kPoll,              // a periodic scan: the polling backend's, or kqueue's backstop
  kRequested,         // a client asked (e.g. sync on a backend without cookies)
};

std::string_view rescan_cause_name(RescanCause cause);

// What a Watcher calls back into.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // `name` in the kind's directory was written or moved in.
  virtual void on_file_changed(RootId root, Kind kind, std::string_view name) = 0;
  // `name` in the kind's directory was deleted or moved away.
  virtual void on_file_gone(RootId root, Kind kind, std::string_view name) = 0;
  // `name` appeared directly in the coordination directory (sync cookies).
  virtual void on_coordination_file(RootId root, std::string_view name) = 0;
  // Individual changes are unknown: diff the whole root against the cache.
  virtual void on_rescan(RootId root, RescanCause cause) = 0;
};

// The outcome of Watcher::add_root.
struct WatchResult {
  enum class Code {
    kOk,
    kRefused,      // never watch this root (a symlinked coordination directory)
    kUnavailable,  // this backend cannot watch it (out of watches): poll instead
  };
  Code code = Code::kOk;
  std::string message;
  bool ok() const { return code == Code::kOk; }
};

class Watcher {
 public:
  virtual ~Watcher() = default;
  // "inotify", "kqueue" or "poll"; shown in status and in coordctl's header.
  virtual std::string_view name() const = 0;
  // True when a file created in a coordination directory is reported after
  // every change made before it (inotify's queue is ordered), so a sync can
  // wait for a cookie; false means sync falls back to a rescan.
  virtual bool orders_cookies() const = 0;
  // Starts watching <root>/.muse/coordination/ and its kind directories,
  // including ones that do not exist yet.
  virtual WatchResult add_root(RootId root, const std::string& root_path) = 0;
  virtual void remove_root(RootId root) = 0;
  // Why this backend cannot fully watch a root right now ("" when it can),
  // beyond what its directories show (see Monitor::degraded_reason).
  virtual std::string degraded_reason(RootId) const { return {}; }
  // Stops delivering callbacks and releases kernel resources (shutdown).
  virtual void stop() = 0;
};

}  // namespace coordd
