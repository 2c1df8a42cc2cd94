// PollWatcher: the fallback Watcher for filesystems the kernel cannot watch
// (NFS, CIFS, FUSE) or machines out of inotify resources. Every interval it
// asks the engine to rescan each root; the engine stats every entry and
// re-reads a file only when its (mtime, size, inode, ctime) changed
// (ctime: a chmod makes an unreadable file worth reading again). It cannot
// order sync cookies, so sync falls back to a rescan. Reactor thread only;
// must outlive the io_context's run.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <string>

#include "daemon/engine/watcher.hpp"

namespace coordd {

inline constexpr std::chrono::milliseconds kDefaultPollInterval{1000};

class PollWatcher final : public Watcher {
 public:
  PollWatcher(boost::asio::io_context& io, WatchSink& sink, std::chrono::milliseconds interval);
  PollWatcher(const PollWatcher&) = delete;
  PollWatcher& operator=(const PollWatcher&) = delete;

  std::string_view name() const override { return "poll"; }
  bool orders_cookies() const override { return false; }
  WatchResult add_root(RootId root, const std::string& root_path) override;
  void remove_root(RootId root) override;
  void stop() override;

 private:
  void schedule();

  WatchSink& sink_;
  std::chrono::milliseconds interval_;
  boost::asio::steady_timer timer_;
  std::map<RootId, std::string> roots_;
  bool scheduled_ = false;
  bool stopped_ = false;
};

}  // namespace coordd
