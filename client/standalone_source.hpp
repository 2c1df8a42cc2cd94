// StandaloneSource: events from the daemon's own engine run in-process, for
// when no coordd answers (or the one that did went away). A Monitor watches
// the plan's root with the kernel backend (or, where that cannot watch it,
// the polling backend at the plan's poll interval, as coordd would); the
// baseline is the engine's current records and live events are what the
// engine publishes, each encoded exactly as coordd would send it, so the
// output matches daemon mode event for event.
// Owns its io_context; run() blocks until the plan or the handler ends the
// watch or SIGINT/SIGTERM arrive. Main thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <string>

#include "client/watch_plan.hpp"
#include "client/watch_view.hpp"
#include "daemon/engine/event_filter.hpp"
#include "daemon/watch/monitor.hpp"

namespace coordd {

class StandaloneSource final : public EventSink {
 public:
  explicit StandaloneSource(WatchPlan plan);
  ~StandaloneSource() override;
  StandaloneSource(const StandaloneSource&) = delete;
  StandaloneSource& operator=(const StandaloneSource&) = delete;

  // Takes over SIGINT/SIGTERM and scans the root. Returns "" or why the root
  // cannot be watched (e.g. a symlinked coordination directory).
  std::string start();
  // The watch backend in use ("inotify", "poll"); valid after start().
  std::string backend() const { return monitor_.backend(); }

  // Brings `view` current from the engine's records, then prints live
  // events. Sets `deadline` from the plan's timeout if it is not set yet.
  WatchError run(WatchView& view, WatchDeadline& deadline);

  // EventSink: a live event from the engine.
  void publish(const EventPtr& event) override;

 private:
  Baseline baseline() const;
  void finish();

  boost::asio::io_context io_;
  std::unique_ptr<boost::asio::signal_set> signals_;
  WatchPlan plan_;
  Monitor monitor_;
  EventFilter filter_;
  WatchView* view_ = nullptr;
  bool finished_ = false;
};

}  // namespace coordd
