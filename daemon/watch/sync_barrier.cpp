#include "daemon/watch/sync_barrier.hpp"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>

#include "proto/display.hpp"

namespace coordd {

SyncBarrier::SyncBarrier(boost::asio::io_context& io, Engine& engine, FileSystem& fs)
    : io_(io), engine_(engine), fs_(fs) {}

std::uint64_t SyncBarrier::start(std::chrono::milliseconds timeout, bool may_write_cookies,
                                 Done done) {
  std::uint64_t id = next_id_++;
  Barrier& barrier = barriers_[id];
  barrier.done = std::move(done);
  for (RootId root : engine_.root_ids()) {
    std::string degraded = degraded_reason_ ? degraded_reason_(root) : std::string();
    if (!degraded.empty()) {
      // Its watch is not (fully) armed: a cookie might never be reported.
      barrier.degraded.emplace_back(engine_.root_path(root), std::move(degraded));
      engine_.on_rescan(root, RescanCause::kRequested);
      continue;
    }
    std::string path = engine_.coordination_dir(root) + "/" + std::string(kCookiePrefix) +
                       std::to_string(::getpid()) + "-" + std::to_string(id) + "-" +
                       std::to_string(root);
    bool ordered = may_write_cookies && cookies_ordered_ && cookies_ordered_(root);
    if (ordered && fs_.create_file(path).ok()) {
      barrier.waiting.emplace(path, root);
      cookie_owner_[path] = id;
    } else {
      // No directory to put a cookie in, a backend that cannot order it, or
      // a client that may not create files: read the disk now instead.
      engine_.on_rescan(root, RescanCause::kRequested);
    }
  }
  if (barrier.waiting.empty()) {
    finish(id, true);
    return id;
  }
  barrier.timer = engine_.clock().make_alarm(io_.get_executor());
  barrier.timer->arm(timeout, [this, id] { finish(id, false); });
  return id;
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

void SyncBarrier::drop_cookies(const Barrier& barrier) {
  for (const auto& [path, root] : barrier.waiting) {
    cookie_owner_.erase(path);
    fs_.remove_file(path);
  }
  if (barrier.timer) barrier.timer->cancel();
}

void SyncBarrier::finish(std::uint64_t id, bool in_time) {
  auto it = barriers_.find(id);
  if (it == barriers_.end()) return;
  Barrier barrier = std::move(it->second);
  barriers_.erase(it);
  drop_cookies(barrier);
  SyncOutcome outcome;
  outcome.in_time = in_time;
  outcome.degraded = std::move(barrier.degraded);
  if (!in_time) {
    for (const auto& [path, root] : barrier.waiting) {
      if (engine_.has_root(root)) outcome.late_roots.push_back(engine_.root_path(root));
    }
  }
  barrier.done(std::move(outcome));
}

void SyncBarrier::cancel(std::uint64_t id) {
  auto it = barriers_.find(id);
  if (it == barriers_.end()) return;
  drop_cookies(it->second);
  barriers_.erase(it);
}

void SyncBarrier::cancel_all() {
  while (!barriers_.empty()) cancel(barriers_.begin()->first);
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
