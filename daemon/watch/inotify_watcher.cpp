#include "daemon/watch/inotify_watcher.hpp"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <climits>
#include <cstring>
#include <system_error>

#include "daemon/engine/record.hpp"
#include "proto/display.hpp"

namespace coordd {
namespace {

constexpr auto kOverflowWindow = std::chrono::seconds(2);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);

constexpr std::uint32_t kSelfEvents = IN_DELETE_SELF | IN_MOVE_SELF;
// IN_ATTRIB: a chmod/chown of the directory itself or of a child, after
// which what could not be read may be readable (coordd's own reads and
// cookie writes never cause it, so it cannot loop).
constexpr std::uint32_t kParentMask =
    IN_CREATE | IN_MOVED_TO | IN_ATTRIB | kSelfEvents | IN_ONLYDIR | IN_DONT_FOLLOW;
constexpr std::uint32_t kCoordinationMask = kParentMask | IN_CLOSE_WRITE;
constexpr std::uint32_t kKindMask = IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM |
                                    IN_DELETE | IN_ATTRIB | kSelfEvents | IN_ONLYDIR |
                                    IN_DONT_FOLLOW | IN_EXCL_UNLINK;

int open_inotify() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw std::system_error(
        err, std::generic_category(),
        err == EMFILE ? "inotify_init1 (raise fs.inotify.max_user_instances)" : "inotify_init1");
  }
  return fd;
}

// Whether an entry that just appeared (IN_CREATE) is complete already. A file
// made by open(O_CREAT) is not: IN_CLOSE_WRITE reports it once written, and
// reading it now would find it empty. A FIFO, socket or symlink (mknod,
// symlink) or a hard link to a written file (link) never gets IN_CLOSE_WRITE,
// so IN_CREATE is its only notice.
bool created_complete(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return false;  // gone again: IN_DELETE follows
  return !S_ISREG(st.st_mode) || st.st_nlink > 1;
}

std::string parent_of(const std::string& path) {
  std::size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

}  // namespace

InotifyWatcher::InotifyWatcher(boost::asio::io_context& io, WatchSink& sink, const Clock& clock,
                               std::chrono::microseconds temp_spin)
    : sink_(sink),
      clock_(clock),
      temp_spin_(temp_spin),
      fd_(io, open_inotify()),
      backoff_timer_(io) {
  start_read();
}

InotifyWatcher::~InotifyWatcher() { stop(); }

void InotifyWatcher::stop() {
  stopped_ = true;
  boost::system::error_code ignored;
  backoff_timer_.cancel();
  fd_.close(ignored);
}

WatchResult InotifyWatcher::add_root(RootId root, const std::string& root_path) {
  roots_[root] = root_path;
  WatchResult result = arm(root, true);
  if (!result.ok()) remove_root(root);
  return result;
}

void InotifyWatcher::remove_root(RootId root) {
  drop_unarmed(root, {});
  roots_.erase(root);
  pending_.erase(root);
  problems_.erase(root);
}

std::string InotifyWatcher::degraded_reason(RootId root) const {
  auto it = problems_.find(root);
  return it == problems_.end() ? std::string() : it->second;
}

void InotifyWatcher::set_problem(RootId root, std::string problem) {
  std::string& known = problems_[root];
  if (known == problem) return;  // said already: a rescan loop must not repeat it
  if (!problem.empty()) spdlog::warn("{}", escape_control(problem));
  known = std::move(problem);
  if (known.empty()) problems_.erase(root);
}

int InotifyWatcher::add_watch(const WatchTarget& target, const std::string& path,
                              std::set<int>& armed) {
  std::uint32_t mask = target.level == Level::kKind           ? kKindMask
                       : target.level == Level::kCoordination ? kCoordinationMask
                                                              : kParentMask;
  // An ancestor may be another root's directory: add to its mask, never narrow it.
  if (target.level == Level::kAncestor) mask |= IN_MASK_ADD;
  int wd = ::inotify_add_watch(fd_.native_handle(), path.c_str(), mask);
  if (wd < 0) return errno;
  std::vector<WatchTarget>& targets = watches_[wd];
  if (std::find(targets.begin(), targets.end(), target) == targets.end()) {
    targets.push_back(target);
  }
  armed.insert(wd);
  return 0;
}

void InotifyWatcher::watch_ancestor(RootId root, const std::string& path, std::set<int>& armed) {
  std::string child = path;
  while (child != "/") {
    std::string parent = parent_of(child);
    WatchTarget target{root, Level::kAncestor, Kind::kReservation,
                       child.substr(child.rfind('/') + 1)};
    int err = add_watch(target, parent, armed);
    if (err == 0) return;
    if (err == ENOSPC) break;
    child = parent;
  }
  set_problem(root, "cannot watch " + path +
                        " or any directory above it (out of inotify watches?); it is not "
                        "watched until a rescan");
}

void InotifyWatcher::drop_unarmed(RootId root, const std::set<int>& armed) {
  for (auto it = watches_.begin(); it != watches_.end();) {
    if (!armed.contains(it->first)) {
      std::erase_if(it->second, [root](const WatchTarget& t) { return t.root == root; });
    }
    if (it->second.empty()) {
      ::inotify_rm_watch(fd_.native_handle(), it->first);
      it = watches_.erase(it);
    } else {
      ++it;
    }
  }
}

WatchResult InotifyWatcher::arm(RootId root, bool initial) {
  const std::string& repo = roots_.at(root);
  std::string muse = repo + "/.muse";
  std::string coordination = muse + "/coordination";
  std::set<int> armed;
  std::string problem;
  // Sweep whatever this pass did not re-arm, whichever way it ends.
  struct Sweep {
    InotifyWatcher& self;
    RootId root;
    std::set<int>& armed;
    ~Sweep() { self.drop_unarmed(root, armed); }
  } sweep{*this, root, armed};
  const WatchResult exhausted{WatchResult::Code::kUnavailable,
                              "out of inotify watches; raise fs.inotify.max_user_watches "
                              "(sysctl -w fs.inotify.max_user_watches=524288)"};
  // ENOENT/ENOTDIR (absent, or a symlink: IN_DONT_FOLLOW|IN_ONLYDIR refuses
  // it) are states the parent's watch reports the end of; anything else
  // (EACCES) makes the root degraded until a permission change re-arms it.
  auto note = [&](const std::string& path, int err) {
    if (err != 0 && err != ENOENT && err != ENOTDIR && problem.empty()) {
      problem = "cannot watch " + path + ": " + std::strerror(err);
    }
  };

  int err = add_watch({root, Level::kRepo, Kind::kReservation, {}}, repo, armed);
  if (err == ENOSPC) return exhausted;
  if (err != 0) {
    if (initial) {
      return {WatchResult::Code::kRefused, "cannot watch " + repo + ": " + std::strerror(err)};
    }
    note(repo, err);
    watch_ancestor(root, repo, armed);
    set_problem(root, problem);
    spdlog::debug("inotify: root {} is missing; waiting through {} ancestor watch(es)", root,
                  armed.size());
    return {};
  }
  if (err = add_watch({root, Level::kMuse, Kind::kReservation, {}}, muse, armed); err == 0) {
    err = add_watch({root, Level::kCoordination, Kind::kReservation, {}}, coordination, armed);
    if (err == 0) {
      // One kind directory that cannot be watched never stops the others.
      for (Kind kind : kAllKinds) {
        std::string dir = coordination + "/" + std::string(kind_dir(kind));
        int kind_err = add_watch({root, Level::kKind, kind, {}}, dir, armed);
        if (kind_err == ENOSPC) return exhausted;
        note(dir, kind_err);
      }
    } else {
      note(coordination, err);
    }
  } else {
    note(muse, err);
  }
  if (err == ENOSPC) return exhausted;
  set_problem(root, problem);
  spdlog::debug("inotify: root {} armed with {} watch(es){}", root, armed.size(),
                problem.empty() ? "" : "; " + problem);
  return {};
}

void InotifyBacklog::make_room(std::size_t bytes) {
  if (capacity_ - tail_ >= bytes) return;
  std::size_t waiting = tail_ - head_;
  if (capacity_ - waiting >= bytes) {
    std::memmove(data_.get(), data_.get() + head_, waiting);
  } else {
    std::size_t grown = std::max(capacity_ * 2, waiting + bytes);
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    if (waiting > 0) std::memcpy(bigger.get(), data_.get() + head_, waiting);
    data_ = std::move(bigger);
    capacity_ = grown;
  }
  head_ = 0;
  tail_ = waiting;
}

char* InotifyBacklog::prepare() {
  make_room(kReadBytes);
  return data_.get() + tail_;
}

bool InotifyBacklog::drained_by(std::size_t n) {
  return n + sizeof(struct inotify_event) + NAME_MAX + 1 <= kReadBytes;
}

InotifyBacklog::Fill InotifyBacklog::fill_from(int fd) {
  while (bytes() < max_bytes_) {
    ssize_t n = ::read(fd, prepare(), kReadBytes);
    if (n > 0) {
      commit(std::size_t(n));
      // No read just to see EAGAIN: the next event wakes the reactor again.
      if (drained_by(std::size_t(n))) return Fill::kDrained;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Fill::kDrained;
    if (n == 0) errno = EIO;  // an inotify descriptor never reads 0 bytes
    return Fill::kError;
  }
  return Fill::kFull;
}

const struct inotify_event* InotifyBacklog::front() const {
  if (empty()) return nullptr;
  return reinterpret_cast<const struct inotify_event*>(data_.get() + head_);
}

void InotifyBacklog::pop_front() {
  head_ += sizeof(struct inotify_event) + front()->len;
  if (head_ < tail_) return;
  head_ = tail_ = 0;
  if (capacity_ > (1u << 20)) {
    // A burst is over: give its memory back.
    data_.reset();
    capacity_ = 0;
  }
}

void InotifyWatcher::start_read() {
  // A read (not a wait): the reactor reads as soon as epoll reports the
  // descriptor, with no epoll_ctl per wake-up, straight into the backlog.
  fd_.async_read_some(boost::asio::buffer(backlog_.prepare(), InotifyBacklog::kReadBytes),
                      [this](const boost::system::error_code& ec, std::size_t n) {
                        if (ec == boost::asio::error::operation_aborted || stopped_) return;
                        if (ec) return read_failed(ec.message());
                        backlog_.commit(n);
                        saw_temp_create_ = saw_record_ = false;
                        if (InotifyBacklog::drained_by(n) || fill_backlog()) work_backlog();
                      });
}

bool InotifyWatcher::fill_backlog() {
  if (backlog_.fill_from(fd_.native_handle()) != InotifyBacklog::Fill::kError) return true;
  read_failed(std::strerror(errno));
  return false;
}

void InotifyWatcher::read_failed(const std::string& why) {
  spdlog::error("reading inotify events failed: {}; rescanning every root", why);
  for (const auto& [root, path] : roots_) request_rescan(root, RescanCause::kOverflow);
}

void InotifyWatcher::work_backlog_later() {
  boost::asio::post(fd_.get_executor(), [this] {
    if (!stopped_) work_backlog();
  });
}

void InotifyWatcher::work_backlog() {
  for (std::size_t handled = 0; !backlog_.empty() && !stopped_; ++handled) {
    if (handled == kEventsPerTurn) return work_backlog_later();  // clients' writes go first
    if (handled % kRefillEvery == kRefillEvery - 1 && !fill_backlog()) return;
    handle(*backlog_.front());
    backlog_.pop_front();
  }
  if (stopped_) return;
  if (saw_temp_create_ && !saw_record_ && temp_spin_.count() > 0) {
    if (!spin_for_rename()) return;
    // What came after the rename is worked off as any other backlog.
    if (!backlog_.empty()) return work_backlog_later();
  }
  start_read();
}

bool InotifyWatcher::spin_for_rename() {
  SteadyTime until = clock_.steady_now() + temp_spin_;
  while (!saw_record_ && !stopped_ && clock_.steady_now() < until) {
    if (!fill_backlog()) return false;
    while (!backlog_.empty() && !saw_record_ && !stopped_) {
      handle(*backlog_.front());
      backlog_.pop_front();
    }
  }
  return true;
}

void InotifyWatcher::handle(const struct inotify_event& event) {
  if (event.mask & IN_Q_OVERFLOW) {
    spdlog::warn("inotify queue overflowed; rescanning every root");
    for (const auto& [root, path] : roots_) request_rescan(root, RescanCause::kOverflow);
    return;
  }
  auto it = watches_.find(event.wd);
  if (it == watches_.end()) return;  // a watch we already dropped
  std::string_view name = event.len > 0 ? std::string_view(event.name) : std::string_view();

  if (event.mask & (IN_IGNORED | kSelfEvents | IN_UNMOUNT)) {
    // The directory itself went away or moved: stop following it (a moved
    // directory would otherwise keep reporting under its old meaning).
    if (!(event.mask & IN_IGNORED)) ::inotify_rm_watch(fd_.native_handle(), event.wd);
    spdlog::debug("inotify: watch {} ended (mask {:#x})", event.wd, event.mask);
    std::vector<WatchTarget> targets = std::move(it->second);
    watches_.erase(it);
    for (const WatchTarget& target : targets) {
      request_rescan(target.root, RescanCause::kDirectoryChanged);
    }
    return;
  }
  if (name.empty()) {
    // IN_ATTRIB on the directory itself: it may have become readable.
    for (const WatchTarget& target : it->second) {
      request_rescan(target.root, RescanCause::kDirectoryChanged);
    }
    return;
  }
  // Copy: a callback may add or drop watches.
  std::vector<WatchTarget> targets = it->second;
  for (const WatchTarget& target : targets) handle_for(target, event.mask, name);
}

void InotifyWatcher::handle_for(const WatchTarget& target, std::uint32_t mask,
                                std::string_view name) {
  bool is_dir = (mask & IN_ISDIR) != 0;
  switch (target.level) {
    case Level::kAncestor:
      if (name == target.child) request_rescan(target.root, RescanCause::kDirectoryChanged);
      return;
    case Level::kRepo:
    case Level::kMuse:
      if (is_dir && name == (target.level == Level::kRepo ? ".muse" : "coordination")) {
        request_rescan(target.root, RescanCause::kDirectoryChanged);
      }
      return;
    case Level::kCoordination:
      if (is_dir) {
        if (kind_from_dir(name)) request_rescan(target.root, RescanCause::kDirectoryChanged);
      } else if (rescan_scheduled_) {
        // A sync cookie must not overtake a rescan that is still waiting (an
        // overflow backing off): report it after the rescan has run.
        deferred_cookies_.emplace_back(target.root, std::string(name));
      } else {
        sink_.on_coordination_file(target.root, name);
      }
      return;
    case Level::kKind:
      if (is_dir) return;
      // Temp files of atomic writers and other ignored names: nothing to do
      // but expect the rename.
      if (classify_name(name).cls == NameClass::kIgnored) {
        if (mask & IN_CREATE) saw_temp_create_ = true;
        return;
      }
      saw_record_ = true;
      if (mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_ATTRIB)) {
        sink_.on_file_changed(target.root, target.kind, name);
      } else if (mask & IN_CREATE) {
        std::string path = roots_.at(target.root) + "/.muse/coordination/" +
                           std::string(kind_dir(target.kind)) + "/" + std::string(name);
        if (created_complete(path)) sink_.on_file_changed(target.root, target.kind, name);
      } else if (mask & (IN_DELETE | IN_MOVED_FROM)) {
        sink_.on_file_gone(target.root, target.kind, name);
      }
      return;
  }
}

void InotifyWatcher::request_rescan(RootId root, RescanCause cause) {
  auto [it, inserted] = pending_.emplace(root, cause);
  if (!inserted && cause == RescanCause::kOverflow) it->second = cause;
  if (rescan_scheduled_) return;
  rescan_scheduled_ = true;

  auto delay = std::chrono::milliseconds(0);
  if (cause == RescanCause::kOverflow) {
    SteadyTime now = clock_.steady_now();
    backoff_ = now - last_overflow_ < kOverflowWindow
                   ? std::min(kMaxBackoff, std::max(backoff_ * 2, std::chrono::milliseconds(50)))
                   : std::chrono::milliseconds(0);
    last_overflow_ = now;
    delay = backoff_;
    if (delay.count() > 0) {
      spdlog::warn("repeated inotify overflows; next rescan in {} ms", delay.count());
    }
  }
  // Coalesce: every request made while this batch of events is handled is
  // served by one rescan per root, after the batch.
  backoff_timer_.expires_after(delay);
  backoff_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    run_pending_rescans();
  });
}

void InotifyWatcher::run_pending_rescans() {
  rescan_scheduled_ = false;
  std::map<RootId, RescanCause> pending;
  pending.swap(pending_);
  for (const auto& [root, cause] : pending) {
    if (!roots_.contains(root)) continue;
    WatchResult result = arm(root, false);
    if (!result.ok()) set_problem(root, result.message);
    sink_.on_rescan(root, cause);
  }
  std::vector<std::pair<RootId, std::string>> cookies;
  cookies.swap(deferred_cookies_);
  for (const auto& [root, name] : cookies) {
    if (roots_.contains(root)) sink_.on_coordination_file(root, name);
  }
}

}  // namespace coordd
