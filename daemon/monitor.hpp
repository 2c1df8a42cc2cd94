// Monitor: the coordination state of a set of roots kept current on an
// io_context: an Engine fed by a watch backend, with its expiry timer armed
// at the next lease deadline. coordd serves it over a socket; coordctl runs
// one in-process when no daemon answers. Reactor thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "daemon/clock.hpp"
#include "daemon/engine.hpp"
#include "daemon/file_system.hpp"
#include "daemon/wall_timer.hpp"
#include "daemon/watcher.hpp"

namespace coordd {

class Monitor {
 public:
  Monitor(boost::asio::io_context& io, EngineOptions options);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Starts the watch backend, watches every root (absolute, canonical
  // paths) and scans them. Throws std::runtime_error with a clear message
  // (symlinked coordination directory, no inotify, ...). Changes found by the
  // scan are not published: set a sink afterwards.
  void start(const std::vector<std::string>& roots);
  // Publishes every later change to `sink` (nullptr: stop publishing).
  void set_sink(EventSink* sink) { engine_.set_sink(sink); }
  void stop();

  Engine& engine() { return engine_; }
  const Engine& engine() const { return engine_; }
  std::string_view backend() const { return watcher_ ? watcher_->name() : "none"; }
  bool orders_cookies() const { return watcher_ && watcher_->orders_cookies(); }
  FileSystem& file_system() { return fs_; }

 private:
  boost::asio::io_context& io_;
  DiskFileSystem fs_;
  SystemClock clock_;
  Engine engine_;
  std::unique_ptr<Watcher> watcher_;
  WallTimer expiry_timer_;
};

}  // namespace coordd
