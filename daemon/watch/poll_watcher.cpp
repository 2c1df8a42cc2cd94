#include "daemon/watch/poll_watcher.hpp"

#include <sys/stat.h>

namespace coordd {

PollWatcher::PollWatcher(boost::asio::io_context& io, WatchSink& sink,
                         std::chrono::milliseconds interval)
    : sink_(sink), interval_(interval), timer_(io) {}

WatchResult PollWatcher::add_root(RootId root, const std::string& root_path) {
  std::string coordination = root_path + "/.muse/coordination";
  struct stat st {};
  if (::lstat(coordination.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    return {WatchResult::Code::kRefused,
            coordination + " is a symlink; refusing to watch it (replace it with a directory)"};
  }
  roots_[root] = root_path;
  schedule();
  return {};
}

void PollWatcher::remove_root(RootId root) {
  roots_.erase(root);
  if (roots_.empty()) timer_.cancel();
}

void PollWatcher::stop() {
  stopped_ = true;
  timer_.cancel();
}

void PollWatcher::schedule() {
  if (scheduled_ || stopped_ || roots_.empty()) return;
  scheduled_ = true;
  timer_.expires_after(interval_);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    scheduled_ = false;
    if (ec || stopped_) return;
    // Copy: a rescan may publish, and a client may unwatch a root meanwhile.
    auto roots = roots_;
    for (const auto& [root, path] : roots) sink_.on_rescan(root, RescanCause::kPoll);
    schedule();
  });
}

}  // namespace coordd
