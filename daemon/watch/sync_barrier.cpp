#include "daemon/watch/sync_barrier.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

#include "proto/display.hpp"

namespace coordd {

SyncBarrier::SyncBarrier(boost::asio::io_context& io, Engine& engine, FileSystem& fs)
    : io_(io), engine_(engine), fs_(fs) {}

void SyncBarrier::start(std::chrono::milliseconds timeout, Done done) {
  std::uint64_t id = next_id_++;
  Barrier& barrier = barriers_[id];
  barrier.done = std::move(done);
  for (RootId root : engine_.root_ids()) {
    std::string path = engine_.coordination_dir(root) + "/" + std::string(kCookiePrefix) +
                       std::to_string(::getpid()) + "-" + std::to_string(id) + "-" +
                       std::to_string(root);
    bool ordered = cookies_ordered_ && cookies_ordered_(root);
    if (ordered && fs_.create_file(path).ok()) {
      barrier.waiting.insert(path);
      cookie_owner_[path] = id;
    } else {
      // No directory to put a cookie in, or a backend that cannot order it:
      // read the disk now instead.
      engine_.on_rescan(root, RescanCause::kRequested);
    }
  }
  if (barrier.waiting.empty()) {
    finish(id, true);
    return;
  }
  barrier.timer = engine_.clock().make_alarm(io_.get_executor());
  barrier.timer->arm(timeout, [this, id] { finish(id, false); });
}

void SyncBarrier::on_cookie(RootId root, std::string_view name) {
  if (!name.starts_with(kCookiePrefix)) return;
  std::string path = engine_.coordination_dir(root) + "/" + std::string(name);
  auto owner = cookie_owner_.find(path);
  if (owner == cookie_owner_.end()) return;  // seen twice (create, close) or not ours
  std::uint64_t id = owner->second;
  cookie_owner_.erase(owner);
  fs_.remove_file(path);
  auto it = barriers_.find(id);
  if (it == barriers_.end()) return;
  it->second.waiting.erase(path);
  if (it->second.waiting.empty()) finish(id, true);
}

void SyncBarrier::finish(std::uint64_t id, bool in_time) {
  auto it = barriers_.find(id);
  if (it == barriers_.end()) return;
  Barrier barrier = std::move(it->second);
  barriers_.erase(it);
  for (const std::string& path : barrier.waiting) {
    cookie_owner_.erase(path);
    fs_.remove_file(path);
  }
  if (barrier.timer) barrier.timer->cancel();
  barrier.done(in_time);
}

void SyncBarrier::cancel_all() {
  while (!barriers_.empty()) {
    auto it = barriers_.begin();
    for (const std::string& path : it->second.waiting) fs_.remove_file(path);
    if (it->second.timer) it->second.timer->cancel();
    barriers_.erase(it);
  }
  cookie_owner_.clear();
}

void SyncBarrier::remove_stray_cookies() {
  for (RootId root : engine_.root_ids()) {
    std::string dir = engine_.coordination_dir(root);
    DirListing listing = fs_.list_dir(dir, false);
    if (listing.status != DirStatus::kOk) continue;
    for (const DirEntry& entry : listing.entries) {
      std::string_view name = entry.name;
      if (!name.starts_with(kCookiePrefix)) continue;
      long pid = std::strtol(std::string(name.substr(kCookiePrefix.size())).c_str(), nullptr, 10);
      bool owner_alive = pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM);
      if (owner_alive && pid != ::getpid()) continue;  // another live daemon's
      spdlog::info("removing stray sync cookie {}/{}", escape_control(dir), escape_control(name));
      fs_.remove_file(dir + "/" + entry.name);
    }
  }
}

}  // namespace coordd
