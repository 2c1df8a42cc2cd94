// InotifyWatcher: the Linux Watcher. One inotify descriptor read inside the
// Asio reactor (no thread, no sleep loop). It watches the repo root, .muse and
// .muse/coordination only to notice the coordination directories appearing,
// vanishing or being replaced, and each kind directory for record writes
// (IN_CLOSE_WRITE), atomic renames (IN_MOVED_TO), deletes and renames away.
// Structural changes and IN_Q_OVERFLOW become rescans of the root; repeated
// overflows back off instead of rescanning in a loop.
// The kernel's queue is small (fs.inotify.max_queued_events, 16384 events by
// default) and a burst of renames fills it faster than records are read.
// Every wake-up therefore moves all the kernel holds into a backlog of our
// own (up to kMaxBacklogBytes) and refills it every kRefillEvery events
// while working through it, kEventsPerTurn at a time so that clients'
// writes run in between: a burst is worked off in order instead of
// overflowing into a rescan (bench/: ingest).
// Atomic writers create a dot-temp file and rename it into place a few
// microseconds later. When a batch holds such a create and no record yet,
// the watcher keeps reading for up to `temp_spin` instead of going to sleep,
// so the rename is handled at once rather than after another wake-up
// (bench/: latency). It costs at most that much CPU per atomic write, never
// any while idle; zero turns it off.
// Reactor thread only; must outlive the io_context's run.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "daemon/engine/clock.hpp"
#include "daemon/engine/watcher.hpp"

struct inotify_event;

namespace coordd {

inline constexpr std::chrono::microseconds kDefaultTempSpin{200};

// The backlog's bounds (see above). Past kMaxBacklogBytes (about 300k
// events with record-sized names) the kernel's queue fills again and an
// overflow rescans, as it would without a backlog.
inline constexpr std::size_t kMaxBacklogBytes = 16u << 20;
inline constexpr std::size_t kEventsPerTurn = 1024;
inline constexpr std::size_t kRefillEvery = 128;

// Raw inotify events read from the kernel and not handled yet, in order.
class InotifyBacklog {
 public:
  explicit InotifyBacklog(std::size_t max_bytes = kMaxBacklogBytes) : max_bytes_(max_bytes) {}

  // One read's room: at least one event of the longest name (NAME_MAX).
  static constexpr std::size_t kReadBytes = 64 * 1024;

  enum class Fill { kDrained, kFull, kError };
  // Reads what `fd` (non-blocking) has, appending, until it has nothing more
  // (kDrained), the bound is reached (kFull) or read fails (kError, errno
  // set). Only whole events are ever read from an inotify descriptor.
  Fill fill_from(int fd);
  // For a read made elsewhere (the reactor's): kReadBytes of room at the
  // end, valid until the next call; then commit() what the read gave.
  char* prepare();
  // Whether a read of `n` bytes left the kernel's queue empty: inotify
  // stops filling a read only at an event that does not fit, so a read
  // with room left for the longest took everything there was.
  static bool drained_by(std::size_t n);
  void commit(std::size_t n) { tail_ += n; }
  // The oldest event not yet handled, or null.
  const struct inotify_event* front() const;
  void pop_front();
  bool empty() const { return head_ == tail_; }
  std::size_t bytes() const { return tail_ - head_; }
  std::size_t capacity() const { return capacity_; }

 private:
  // Room for one more read at tail_ (moving or growing the buffer; never
  // zero-filling it: an idle wake-up's read must cost no more than a read).
  void make_room(std::size_t bytes);

  std::size_t max_bytes_;
  std::unique_ptr<char[]> data_;  // events in [head_, tail_) are waiting
  std::size_t capacity_ = 0;
  std::size_t head_ = 0;
  std::size_t tail_ = 0;
};

class InotifyWatcher final : public Watcher {
 public:
  // Throws std::system_error when inotify is unavailable (EMFILE: raise
  // fs.inotify.max_user_instances).
  // `clock` times the rename spin and the overflow back-off; it must
  // outlive the watcher.
  InotifyWatcher(boost::asio::io_context& io, WatchSink& sink, const Clock& clock,
                 std::chrono::microseconds temp_spin = kDefaultTempSpin);
  ~InotifyWatcher() override;
  InotifyWatcher(const InotifyWatcher&) = delete;
  InotifyWatcher& operator=(const InotifyWatcher&) = delete;

  std::string_view name() const override { return "inotify"; }
  bool orders_cookies() const override { return true; }
  WatchResult add_root(RootId root, const std::string& root_path) override;
  void remove_root(RootId root) override;
  void stop() override;
  std::string degraded_reason(RootId root) const override;

 private:
  // kAncestor: the nearest existing ancestor of a repository directory that
  // is missing or cannot be watched, watched only for `child` to (re)appear
  // or change permissions.
  enum class Level { kAncestor, kRepo, kMuse, kCoordination, kKind };
  struct WatchTarget {
    RootId root;
    Level level;
    Kind kind;          // for kKind
    std::string child;  // for kAncestor
    bool operator==(const WatchTarget&) const = default;
  };

  // (Re)adds the watches of a root: each level is watched before its child is
  // looked at, so a child created in between is still seen. Then drops the
  // root's watches that no longer name its paths (a directory moved away,
  // replaced, or an ancestor no longer needed), so nothing reports under an
  // old meaning. With `initial`, a repository that cannot be watched at all
  // is refused; later it is waited for.
  WatchResult arm(RootId root, bool initial);
  // inotify_add_watch for one level; returns 0 or the errno, and records the
  // descriptor in `armed`.
  int add_watch(const WatchTarget& target, const std::string& path, std::set<int>& armed);
  // Watches the nearest existing ancestor of `path` for its next component.
  void watch_ancestor(RootId root, const std::string& path, std::set<int>& armed);
  void drop_unarmed(RootId root, const std::set<int>& armed);
  // Remembers why a root is not fully watched; logs when the reason changes.
  void set_problem(RootId root, std::string problem);
  void start_read();
  // Fills the backlog; false after a read error (see read_failed).
  bool fill_backlog();
  // Events may have been lost: logs, rescans every root, reads no more.
  void read_failed(const std::string& why);
  // Handles up to kEventsPerTurn backlog events, refilling as it goes; then
  // either goes on in a later turn or, the backlog empty, waits for the kernel.
  void work_backlog();
  void work_backlog_later();
  // After a batch that started an atomic write but held no record event:
  // reads on, without sleeping, until a record event or temp_spin_ passes.
  // Events after the record stay in the backlog. False on a read error.
  bool spin_for_rename();
  void handle(const struct inotify_event& event);
  void handle_for(const WatchTarget& target, std::uint32_t mask, std::string_view name);
  void request_rescan(RootId root, RescanCause cause);
  void run_pending_rescans();

  WatchSink& sink_;
  const Clock& clock_;
  std::chrono::microseconds temp_spin_;
  boost::asio::posix::stream_descriptor fd_;
  boost::asio::steady_timer backoff_timer_;
  InotifyBacklog backlog_;
  std::map<int, std::vector<WatchTarget>> watches_;  // one directory may serve several roots
  std::map<RootId, std::string> roots_;
  std::map<RootId, std::string> problems_;  // why a root is not fully watched
  std::map<RootId, RescanCause> pending_;
  std::vector<std::pair<RootId, std::string>> deferred_cookies_;  // held while a rescan waits
  bool rescan_scheduled_ = false;
  bool saw_temp_create_ = false;  // in this batch: a dot-temp file appeared in a kind dir
  bool saw_record_ = false;       // in this batch: a record event was handled
  bool stopped_ = false;
  // Overflow back-off: each overflow within kOverflowWindow of the last one
  // doubles the delay before rescanning, up to kMaxBackoff.
  SteadyTime last_overflow_{};
  std::chrono::milliseconds backoff_{0};
};

}  // namespace coordd
