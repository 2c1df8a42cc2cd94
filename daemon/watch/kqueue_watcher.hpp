// KqueueWatcher: the macOS/BSD Watcher. Each watched directory is an
// EVFILT_VNODE registration on a kqueue (KqueueVnodeApi); every decision --
// what to open, refuse, close and rescan -- is KqueueLogic's. All state lives
// on the reactor thread, which drains the kqueue and runs the rescans.
// Built only where <sys/event.h> exists. Must outlive the io_context's run.
//
// Why a waiter thread: Asio cannot wait on a kqueue descriptor. Its
// async_wait first makes the descriptor non-blocking (ioctl FIONBIO, then
// fcntl O_NONBLOCK), which kqueue descriptors refuse with ENOTTY on macOS and
// FreeBSD, so the wait would fail at once. Instead one thread blocks in
// kevent() on a private kqueue holding a single EV_DISPATCH read filter on the
// vnode kqueue, and posts one drain to the reactor each time it fires. The
// drain empties the vnode kqueue, hands the batch to KqueueLogic and re-enables
// the filter, so at most one drain is ever queued. The thread owns no state
// and takes no lock; stop() wakes it with EVFILT_USER and joins it.
//
// kqueue names no file, so sync cannot wait for a cookie (orders_cookies() is
// false: sync rescans). Every `backstop` interval (the monitor passes
// --poll-interval) each root is rescanned with stamps trusted -- a stat per
// record, re-reading only what changed -- to catch records rewritten in place
// (see kqueue_logic.hpp), as the reference muse watcher's loop also does.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "daemon/engine/watcher.hpp"
#include "daemon/watch/kqueue_logic.hpp"
#include "daemon/watch/vnode_api.hpp"

namespace coordd {

inline constexpr std::chrono::milliseconds kDefaultKqueueBackstop{1000};

// An owned, close-on-exec kqueue descriptor.
class KqueueFd {
 public:
  // Throws std::system_error when kqueue() fails (EMFILE: raise ulimit -n).
  KqueueFd();
  ~KqueueFd();
  KqueueFd(const KqueueFd&) = delete;
  KqueueFd& operator=(const KqueueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// VnodeApi over open(2) and a kqueue it owns. Reactor thread only.
class KqueueVnodeApi final : public VnodeApi {
 public:
  int kqueue_fd() const { return kqueue_.get(); }
  OpenResult open_directory(const std::string& path) override;
  std::string watch(VnodeHandle handle) override;
  void close(VnodeHandle handle) override;
  // Appends the events pending now, without blocking, up to a bounded number
  // (the rest stay queued for the next drain). Returns "" or kevent's error.
  std::string drain(std::vector<VnodeEvent>& events);

 private:
  KqueueFd kqueue_;
};

class KqueueWatcher final : public Watcher {
 public:
  // Throws std::system_error when a kqueue or the waiter thread cannot be made.
  KqueueWatcher(boost::asio::io_context& io, WatchSink& sink,
                std::chrono::milliseconds backstop = kDefaultKqueueBackstop);
  ~KqueueWatcher() override;
  KqueueWatcher(const KqueueWatcher&) = delete;
  KqueueWatcher& operator=(const KqueueWatcher&) = delete;

  std::string_view name() const override { return "kqueue"; }
  bool orders_cookies() const override { return false; }
  WatchResult add_root(RootId root, const std::string& root_path) override;
  void remove_root(RootId root) override;
  void stop() override;

 private:
  void wait_for_events();  // the waiter thread
  void drain();
  void enable_wakeup();
  void rescan_everything(RescanCause cause);
  void schedule_backstop();

  boost::asio::io_context& io_;
  WatchSink& sink_;
  std::chrono::milliseconds backstop_interval_;
  KqueueVnodeApi vnodes_;
  KqueueLogic logic_;
  KqueueFd waiter_queue_;  // the waiter's: the vnode kqueue's read filter, and the stop wake-up
  boost::asio::steady_timer backstop_timer_;
  bool backstop_scheduled_ = false;
  bool stopped_ = false;
  std::thread waiter_;  // last: started once everything it uses exists
};

}  // namespace coordd
