#include "daemon/monitor.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>
#include <system_error>

#include "daemon/inotify_watcher.hpp"

namespace coordd {

Monitor::Monitor(boost::asio::io_context& io, EngineOptions options)
    : io_(io), engine_(fs_, clock_, options), expiry_timer_(io, [this] {
        engine_.advance_clock();
        expiry_timer_.arm(engine_.next_deadline());
      }) {}

Monitor::~Monitor() { stop(); }

void Monitor::start(const std::vector<std::string>& roots) {
  try {
    watcher_ = std::make_unique<InotifyWatcher>(io_, engine_);
  } catch (const std::system_error& e) {
    throw std::runtime_error(std::string("cannot start the inotify backend: ") + e.what());
  }
  // Watches before the scan, so nothing written during the scan is missed.
  for (const std::string& root : roots) {
    RootId id = engine_.add_root(root);
    std::string error = watcher_->add_root(id, root);
    if (!error.empty()) throw std::runtime_error(error);
  }
  auto started = std::chrono::steady_clock::now();
  for (RootId id : engine_.root_ids()) engine_.on_rescan(id, RescanCause::kInitial);
  spdlog::info("initial scan: {} records in {} root(s) in {:.1f} ms; {} active lease(s)",
               engine_.store().size(), engine_.root_ids().size(),
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                   .count(),
               engine_.leases().active_count());
  engine_.set_deadline_listener([this] { expiry_timer_.arm(engine_.next_deadline()); });
  expiry_timer_.arm(engine_.next_deadline());
}

void Monitor::stop() {
  if (watcher_) watcher_->stop();
  expiry_timer_.stop();
}

}  // namespace coordd
