#include "daemon/watch/monitor.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <system_error>

#include "proto/display.hpp"

#if __has_include(<sys/event.h>)
#include "daemon/watch/kqueue_watcher.hpp"
#else
#include "daemon/watch/inotify_watcher.hpp"
#endif

#ifdef __linux__
#include <sys/vfs.h>
#elif defined(__APPLE__) || defined(__FreeBSD__)
#include <sys/mount.h>
#include <sys/param.h>
#endif

namespace coordd {
namespace {

// The kernel backend of this platform; `--backend inotify` selects it.
#if __has_include(<sys/event.h>)
constexpr const char* kKernelBackend = "kqueue";
#else
constexpr const char* kKernelBackend = "inotify";
#endif

// The filesystem's name when it is one the kernel backend cannot see changes
// on (changes made by other machines never reach this kernel).
std::string remote_filesystem(const std::string& path) {
#ifdef __linux__
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0) return "";
  switch (static_cast<unsigned long>(st.f_type)) {
    case 0x6969UL:
      return "NFS";
    case 0x517BUL:
      return "SMB";
    case 0xFF534D42UL:
      return "CIFS";
    case 0xFE534D42UL:
      return "SMB2";
    case 0x65735546UL:
      return "FUSE";
    case 0x00C36400UL:
      return "Ceph";
    case 0x01021997UL:
      return "9p";
    case 0x5346414FUL:
      return "AFS";
    default:
      return "";
  }
#elif defined(MNT_LOCAL)
  struct statfs st {};
  if (::statfs(path.c_str(), &st) != 0 || (st.f_flags & MNT_LOCAL)) return "";
  return st.f_fstypename;  // "nfs", "smbfs", "afpfs", "webdav", "macfuse", ...
#else
  (void)path;
  return "";
#endif
}

}  // namespace

Monitor::Monitor(boost::asio::io_context& io, MonitorOptions options, const Clock& clock)
    : io_(io),
      options_(options),
      clock_(clock),
      engine_(fs_, clock_, options.engine),
      expiry_timer_(io, [this] {
        engine_.advance_clock();
        expiry_timer_.arm(engine_.next_deadline());
      }) {}

Monitor::~Monitor() { stop(); }

PollWatcher& Monitor::poll_watcher() {
  if (!poll_) poll_ = std::make_unique<PollWatcher>(io_, engine_, options_.poll_interval);
  return *poll_;
}

WatchResult Monitor::watch(RootId root, const std::string& root_path) {
  std::string fallback_reason;
  if (options_.backend != BackendChoice::kPoll) {
    std::string remote = remote_filesystem(root_path);
    if (!inotify_ && inotify_unavailable_.empty()) {
      try {
#if __has_include(<sys/event.h>)
        // kqueue misses records rewritten in place; its backstop scan runs at
        // the polling interval.
        inotify_ = std::make_unique<KqueueWatcher>(io_, engine_, options_.poll_interval);
#else
        inotify_ = std::make_unique<InotifyWatcher>(io_, engine_, clock_, options_.temp_spin);
#endif
      } catch (const std::system_error& e) {
        inotify_unavailable_ = e.what();
      }
    }
    if (!inotify_) {
      fallback_reason = std::string(kKernelBackend) + " is unavailable: " + inotify_unavailable_;
    } else if (!remote.empty() && options_.backend == BackendChoice::kAuto) {
      fallback_reason = root_path + " is on " + remote + ", where " + kKernelBackend +
                        " misses changes made by other machines";
    } else {
      WatchResult result = inotify_->add_root(root, root_path);
      if (result.ok()) {
        watcher_of_[root] = inotify_.get();
        return result;
      }
      if (result.code == WatchResult::Code::kRefused) return result;
      fallback_reason = result.message;
    }
    if (options_.backend == BackendChoice::kInotify) {
      return {WatchResult::Code::kRefused, "--backend " + std::string(kKernelBackend) +
                                               " cannot watch " + root_path + ": " +
                                               fallback_reason};
    }
  }
  WatchResult result = poll_watcher().add_root(root, root_path);
  if (result.ok()) {
    watcher_of_[root] = poll_.get();
    if (!fallback_reason.empty()) {
      spdlog::warn("polling {} every {} ms: {}", escape_control(root_path),
                   options_.poll_interval.count(), escape_control(fallback_reason));
    }
  }
  return result;
}

void Monitor::start(const std::vector<std::string>& roots) {
  // Watches before the scan, so nothing written during the scan is missed.
  for (const std::string& root : roots) {
    if (engine_.find_root(root)) continue;  // named twice (e.g. through a link): watched once
    if (Status layout = check_layout(root); !layout.ok()) {
      throw std::runtime_error(layout.message());
    }
    RootId id = engine_.add_root(root);
    WatchResult result = watch(id, root);
    if (!result.ok()) throw std::runtime_error(result.message);
  }
  SteadyTime started = clock_.steady_now();
  for (RootId id : engine_.root_ids()) engine_.on_rescan(id, RescanCause::kInitial);
  spdlog::info("initial scan: {} records in {} root(s) in {:.1f} ms; {} active lease(s)",
               engine_.store().size(), engine_.root_ids().size(),
               std::chrono::duration<double, std::milli>(clock_.steady_now() - started).count(),
               engine_.leases().active_count());
  engine_.set_deadline_listener([this] { expiry_timer_.arm(engine_.next_deadline()); });
  expiry_timer_.arm(engine_.next_deadline());
}

Status Monitor::check_layout(const std::string& root_path) {
  // As Muse refuses a symlinked coordination directory: a root is watched
  // whole or not at all, never half through a link.
  for (const char* below : {"/.muse", "/.muse/coordination"}) {
    if (fs_.probe_dir(root_path + below) == DirStatus::kSymlink) {
      return Status::error("bad_root", root_path + below +
                                           " is a symlink; refusing to watch the repository "
                                           "(coordd never follows links below a root)");
    }
  }
  return Status();
}

Status Monitor::add_root(const std::string& root_path) {
  if (engine_.find_root(root_path)) return Status();  // already watched
  if (Status layout = check_layout(root_path); !layout.ok()) return layout;
  RootId id = engine_.add_root(root_path);
  WatchResult result = watch(id, root_path);
  if (!result.ok()) {
    engine_.remove_root(id);
    return Status::error("bad_root", result.message);
  }
  engine_.on_rescan(id, RescanCause::kInitial);
  spdlog::info("watching {} ({})", escape_control(root_path), backend_of(id));
  return Status();
}

bool Monitor::remove_root(const std::string& root_path) {
  std::optional<RootId> id = engine_.find_root(root_path);
  if (!id) return false;
  if (auto it = watcher_of_.find(*id); it != watcher_of_.end()) {
    it->second->remove_root(*id);
    watcher_of_.erase(it);
  }
  engine_.remove_root(*id);
  spdlog::info("stopped watching {}", escape_control(root_path));
  return true;
}

std::string Monitor::backend_of(RootId root) const {
  auto it = watcher_of_.find(root);
  return it == watcher_of_.end() ? "none" : std::string(it->second->name());
}

std::string Monitor::backend() const {
  bool kernel = false, poll = false;
  for (const auto& [root, watcher] : watcher_of_) {
    (watcher == poll_.get() ? poll : kernel) = true;
  }
  if (kernel && poll) return std::string(kKernelBackend) + "+poll";
  if (poll) return "poll";
  if (kernel) return kKernelBackend;
  return options_.backend == BackendChoice::kPoll ? "poll" : kKernelBackend;
}

bool Monitor::orders_cookies(RootId root) const {
  auto it = watcher_of_.find(root);
  return it != watcher_of_.end() && it->second->orders_cookies();
}

std::string Monitor::degraded_reason(RootId root) const {
  if (!engine_.has_root(root)) return "";
  const std::string& repo = engine_.root_path(root);
  // The first broken level explains everything below it.
  auto problem = [&](const std::string& path, bool missing_is_fine) -> std::string {
    switch (fs_.probe_dir(path)) {
      case DirStatus::kOk:
        return fs_.can_list_dir(path) ? "" : path + " cannot be read (permission denied)";
      case DirStatus::kMissing:
        return missing_is_fine ? "" : path + " does not exist; waiting for it to reappear";
      case DirStatus::kSymlink:
        return path + " is a symlink (never followed)";
      case DirStatus::kNotDirectory:
        return path + " is not a directory";
      case DirStatus::kError:
        return path + " cannot be inspected";
    }
    return "";
  };
  std::string found = problem(repo, false);
  std::string coordination = repo + "/.muse/coordination";
  if (found.empty()) found = problem(repo + "/.muse", true);
  if (found.empty()) found = problem(coordination, true);
  if (found.empty()) {
    for (Kind kind : kAllKinds) {
      std::string below = problem(coordination + "/" + std::string(kind_dir(kind)), true);
      if (!below.empty()) found += (found.empty() ? "" : "; ") + below;
    }
  }
  if (auto it = watcher_of_.find(root); it != watcher_of_.end()) {
    std::string backend = it->second->degraded_reason(root);
    if (!backend.empty() && found.find(backend) == std::string::npos) {
      found += (found.empty() ? "" : "; ") + backend;
    }
  }
  return found;
}

void Monitor::stop() {
  if (inotify_) inotify_->stop();
  if (poll_) poll_->stop();
  expiry_timer_.stop();
}

}  // namespace coordd
