// DaemonSource: a watch's events from coordd, across coordd restarts. run()
// brings a WatchView current from a baseline (the daemon's `list` at one
// seq) and then prints the live events after it, or, on a reconnection to
// the same daemon run, resumes with `since` where it stopped. A `lagged`
// marker (this watch fell behind) is answered the same way: a new baseline,
// so nothing is missed. When the connection is lost run() says so and
// reconnect() tries again with a bounded back-off. Blocking; main thread;
// StopSignals must be installed.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <string>

#include "client/daemon_connection.hpp"
#include "client/watch_plan.hpp"
#include "client/watch_view.hpp"

namespace coordd {

class DaemonSource {
 public:
  DaemonSource(std::string socket_path, WatchPlan plan);

  // Connects and says hello. "" or why not; nothing_listens() then tells
  // "no daemon there" (ENOENT, ECONNREFUSED) from other problems.
  std::string connect();
  bool nothing_listens() const { return daemon_.no_daemon; }
  // Whether the connected daemon watches the plan's root.
  bool watches_root() const { return daemon_.watches_root(plan_.root); }
  // The daemon's watch backend ("inotify", ...), or "unknown".
  std::string backend();

  enum class End {
    kDone,  // the watch is over: --once, the deadline, the handler, a signal, or error()
    kLost,  // the connection to coordd was lost: reconnect() and run() again
  };
  // Streams into `view` until the end. Sets `deadline` from the plan's
  // timeout once the first snapshot has been printed, if it is not set yet.
  End run(WatchView& view, WatchDeadline& deadline);
  // What ended the watch in error ("" for a normal end).
  const std::string& error() const { return error_; }

  // After kLost: tries to connect again to a daemon watching the root, with
  // a back-off from 25 ms to 500 ms, for at most `window` (and never past
  // `deadline` or a stop signal). True when connected.
  bool reconnect(std::chrono::milliseconds window, const WatchDeadline& deadline);

 private:
  boost::json::object subscription_request() const;
  // Replaces the view's baseline with the daemon's current records.
  // Returns "" or what went wrong; `stop` is set when the handler said so.
  std::string rebase(WatchView& view, bool& stop);
  End done(std::string error);

  std::string socket_path_;
  WatchPlan plan_;
  DaemonConnection daemon_;
  boost::json::value sub_;
  std::string epoch_;           // the daemon run streamed from ("" before the first)
  std::uint64_t last_seq_ = 0;  // every event of that run up to here was handled
  std::string error_;
};

}  // namespace coordd
