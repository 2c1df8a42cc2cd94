#include "daemon/watch/kqueue_watcher.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/event.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "proto/display.hpp"

namespace coordd {
namespace {

constexpr std::uint32_t kVnodeNotes =
    NOTE_WRITE | NOTE_EXTEND | NOTE_DELETE | NOTE_RENAME | NOTE_REVOKE;
constexpr std::uintptr_t kStopIdent = 1;  // the waiter queue's EVFILT_USER event
constexpr int kDrainBatch = 64;
// Bounds one drain (and so the reactor's time in it) under constant churn;
// what is left stays queued and the re-enabled read filter fires again.
constexpr int kMaxDrainRounds = 64;

#ifdef O_EVTONLY
// macOS: a descriptor for events only, which does not keep its volume from
// being unmounted.
constexpr int kOpenFlags = O_EVTONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#else
constexpr int kOpenFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#endif

unsigned changes_of(std::uint32_t fflags) {
  unsigned changes = 0;
  if (fflags & NOTE_WRITE) changes |= kVnodeWrite;
  if (fflags & NOTE_EXTEND) changes |= kVnodeExtend;
  if (fflags & NOTE_DELETE) changes |= kVnodeDelete;
  if (fflags & NOTE_RENAME) changes |= kVnodeRename;
  if (fflags & NOTE_REVOKE) changes |= kVnodeRevoke;
  return changes;
}

}  // namespace

KqueueFd::KqueueFd() : fd_(::kqueue()) {
  if (fd_ < 0) {
    int err = errno;
    throw std::system_error(
        err, std::generic_category(),
        err == EMFILE ? "kqueue (raise the descriptor limit: ulimit -n)" : "kqueue");
  }
  // kqueues are not inherited by fork(), but the descriptor number still is.
  ::fcntl(fd_, F_SETFD, FD_CLOEXEC);
}

KqueueFd::~KqueueFd() { ::close(fd_); }

OpenResult KqueueVnodeApi::open_directory(const std::string& path) {
  int fd = ::open(path.c_str(), kOpenFlags);
  if (fd >= 0) return {OpenStatus::kOk, fd, ""};
  int err = errno;
  switch (err) {
    case ENOENT:
      return {OpenStatus::kMissing, -1, ""};
    case EMFILE:
    case ENFILE:
      return {OpenStatus::kExhausted, -1, std::strerror(err)};
    case ELOOP:      // macOS, Linux: O_NOFOLLOW met a symlink
    case EMLINK:     // FreeBSD: likewise
    case ENOTDIR: {  // O_DIRECTORY checked first, or a path component is not a directory
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
        return {OpenStatus::kSymlink, -1, ""};
      return {OpenStatus::kNotDirectory, -1, ""};
    }
    default:
      return {OpenStatus::kError, -1, std::strerror(err)};
  }
}

std::string KqueueVnodeApi::watch(VnodeHandle handle) {
  struct kevent change;
  EV_SET(&change, static_cast<std::uintptr_t>(handle), EVFILT_VNODE, EV_ADD | EV_CLEAR, kVnodeNotes,
         0, nullptr);
  // With no room for events, a failed registration is reported as -1/errno.
  if (::kevent(kqueue_.get(), &change, 1, nullptr, 0, nullptr) < 0) return std::strerror(errno);
  return "";
}

void KqueueVnodeApi::close(VnodeHandle handle) {
  // Closing the descriptor removes its registration and any pending event.
  ::close(handle);
}

std::string KqueueVnodeApi::drain(std::vector<VnodeEvent>& events) {
  struct kevent batch[kDrainBatch];
  const struct timespec no_wait { 0, 0 };
  for (int round = 0; round < kMaxDrainRounds; ++round) {
    int n = ::kevent(kqueue_.get(), nullptr, 0, batch, kDrainBatch, &no_wait);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::strerror(errno);
    }
    for (int i = 0; i < n; ++i) {
      // EV_ERROR only answers changelist entries, and none are passed here.
      if (batch[i].filter != EVFILT_VNODE || (batch[i].flags & EV_ERROR)) continue;
      events.push_back({static_cast<VnodeHandle>(batch[i].ident), changes_of(batch[i].fflags)});
    }
    if (n < kDrainBatch) break;
  }
  return "";
}

KqueueWatcher::KqueueWatcher(boost::asio::io_context& io, WatchSink& sink,
                             std::chrono::milliseconds backstop)
    : io_(io),
      sink_(sink),
      backstop_interval_(backstop),
      logic_(vnodes_,
             [](const std::string& message) { spdlog::error("{}", escape_control(message)); }),
      backstop_timer_(io) {
  struct kevent changes[2];
  // EV_DISPATCH: after firing once the filter stays disabled until the drain
  // re-enables it, so the waiter posts one drain per batch, not one per event.
  EV_SET(&changes[0], static_cast<std::uintptr_t>(vnodes_.kqueue_fd()), EVFILT_READ,
         EV_ADD | EV_DISPATCH, 0, 0, nullptr);
  EV_SET(&changes[1], kStopIdent, EVFILT_USER, EV_ADD | EV_CLEAR, 0, 0, nullptr);
  if (::kevent(waiter_queue_.get(), changes, 2, nullptr, 0, nullptr) < 0) {
    throw std::system_error(errno, std::generic_category(), "kevent (waiting on the vnode kqueue)");
  }
  waiter_ = std::thread([this] { wait_for_events(); });
}

KqueueWatcher::~KqueueWatcher() { stop(); }

void KqueueWatcher::stop() {
  if (stopped_) return;
  stopped_ = true;
  backstop_timer_.cancel();
  struct kevent wake;
  EV_SET(&wake, kStopIdent, EVFILT_USER, 0, NOTE_TRIGGER, 0, nullptr);
  if (::kevent(waiter_queue_.get(), &wake, 1, nullptr, 0, nullptr) < 0) {
    spdlog::error("cannot wake the kqueue waiter: {}", std::strerror(errno));
  }
  if (waiter_.joinable()) waiter_.join();
  logic_.remove_all();
}

WatchResult KqueueWatcher::add_root(RootId root, const std::string& root_path) {
  WatchResult result = logic_.add_root(root, root_path);
  if (result.ok()) schedule_backstop();
  return result;
}

void KqueueWatcher::remove_root(RootId root) {
  logic_.remove_root(root);
  if (logic_.roots().empty()) backstop_timer_.cancel();
}

void KqueueWatcher::wait_for_events() {
  // Touches only waiter_queue_ and io_, both fixed before this thread starts;
  // the posted handlers run on the reactor thread.
  for (;;) {
    struct kevent event;
    int n = ::kevent(waiter_queue_.get(), nullptr, 0, &event, 1, nullptr);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      boost::asio::post(io_, [this, err] {
        if (stopped_) return;
        spdlog::error(
            "waiting for kqueue events failed: {}; only the backstop scan every {} ms "
            "remains",
            std::strerror(err), backstop_interval_.count());
        rescan_everything(RescanCause::kOverflow);
      });
      return;
    }
    if (n == 0) continue;
    if (event.filter == EVFILT_USER) return;  // stop()
    boost::asio::post(io_, [this] { drain(); });
  }
}

void KqueueWatcher::drain() {
  if (stopped_) return;
  std::vector<VnodeEvent> events;
  std::string error = vnodes_.drain(events);
  if (!error.empty()) {
    // Not re-enabled: a kqueue that cannot be read would wake us in a loop.
    spdlog::error("reading kqueue events failed: {}; only the backstop scan every {} ms remains",
                  error, backstop_interval_.count());
    rescan_everything(RescanCause::kOverflow);
    return;
  }
  std::vector<RescanRequest> rescans = logic_.handle(events);
  // Before the rescans: a change made while they run wakes the waiter again.
  enable_wakeup();
  for (const RescanRequest& rescan : rescans) sink_.on_rescan(rescan.root, rescan.cause);
}

void KqueueWatcher::enable_wakeup() {
  struct kevent change;
  // EV_ADD with EV_ENABLE re-evaluates the filter, so events that arrived
  // after the drain fire it at once.
  EV_SET(&change, static_cast<std::uintptr_t>(vnodes_.kqueue_fd()), EVFILT_READ,
         EV_ADD | EV_ENABLE | EV_DISPATCH, 0, 0, nullptr);
  if (::kevent(waiter_queue_.get(), &change, 1, nullptr, 0, nullptr) < 0) {
    spdlog::error(
        "cannot re-enable kqueue wake-ups: {}; only the backstop scan every {} ms remains",
        std::strerror(errno), backstop_interval_.count());
  }
}

void KqueueWatcher::rescan_everything(RescanCause cause) {
  for (RootId root : logic_.roots()) sink_.on_rescan(root, cause);
}

void KqueueWatcher::schedule_backstop() {
  if (backstop_scheduled_ || stopped_ || logic_.roots().empty()) return;
  backstop_scheduled_ = true;
  backstop_timer_.expires_after(backstop_interval_);
  backstop_timer_.async_wait([this](const boost::system::error_code& ec) {
    backstop_scheduled_ = false;
    if (ec || stopped_) return;
    rescan_everything(RescanCause::kPoll);
    schedule_backstop();
  });
}

}  // namespace coordd
