// Monitor: the coordination state of a set of roots kept current on an
// io_context: an Engine fed by watch backends, with its expiry timer armed at
// the next lease deadline. Each root gets the kernel backend (inotify) when it
// can, else the polling backend, with a warning naming the reason (inotify
// unavailable, out of watches, remote filesystem). coordd serves a Monitor
// over a socket; coordctl runs one in-process when no daemon answers.
// Reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "daemon/engine/clock.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/engine/file_system.hpp"
#include "daemon/engine/watcher.hpp"
#include "daemon/watch/inotify_watcher.hpp"
#include "daemon/watch/poll_watcher.hpp"
#include "daemon/watch/wall_timer.hpp"
#include "proto/status.hpp"

namespace coordd {

enum class BackendChoice { kAuto, kInotify, kPoll };

struct MonitorOptions {
  EngineOptions engine;
  BackendChoice backend = BackendChoice::kAuto;
  std::chrono::milliseconds poll_interval = kDefaultPollInterval;
  std::chrono::microseconds temp_spin = kDefaultTempSpin;  // see InotifyWatcher
};

class Monitor {
 public:
  // `clock` (the system's by default) must outlive the Monitor.
  Monitor(boost::asio::io_context& io, MonitorOptions options, const Clock& clock = system_clock());
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Watches and scans every root (absolute, canonical paths). Throws
  // std::runtime_error with a clear message when a root cannot be watched.
  // Changes found by the scan are published only if a sink is set.
  void start(const std::vector<std::string>& roots);
  // Adds one root at run time (its records are published as added); a
  // failure (bad_root) says why it cannot be watched.
  Status add_root(const std::string& root_path);
  // Stops watching a root; its records are published as removed.
  bool remove_root(const std::string& root_path);

  void set_sink(EventSink* sink) { engine_.set_sink(sink); }
  void stop();

  Engine& engine() { return engine_; }
  const Engine& engine() const { return engine_; }
  FileSystem& file_system() { return fs_; }
  // "inotify", "poll", or "inotify+poll" when roots differ.
  std::string backend() const;
  std::string backend_of(RootId root) const;
  // Whether sync can wait for a cookie in this root (see Watcher).
  bool orders_cookies(RootId root) const;
  // Why a root cannot be watched whole right now ("" when it can): its
  // directory is missing, a directory below it is a symlink, not a directory
  // or unreadable, or the backend could not arm a watch. Such a root is
  // picked up again on its own once the cause goes away.
  std::string degraded_reason(RootId root) const;

 private:
  WatchResult watch(RootId root, const std::string& root_path);
  PollWatcher& poll_watcher();
  // bad_root when the root's .muse or coordination directory is a symlink.
  Status check_layout(const std::string& root_path);

  boost::asio::io_context& io_;
  MonitorOptions options_;
  mutable DiskFileSystem fs_;  // probing a directory changes nothing of ours
  const Clock& clock_;
  Engine engine_;
  std::unique_ptr<Watcher> inotify_;
  std::string inotify_unavailable_;  // why, when inotify_ could not start
  std::unique_ptr<PollWatcher> poll_;
  std::map<RootId, Watcher*> watcher_of_;
  WallTimer expiry_timer_;
};

}  // namespace coordd
