#include "daemon/daemon.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <random>
#include <stdexcept>

#include "daemon/inotify_watcher.hpp"
#include "proto/display.hpp"

namespace coordd {

std::string Daemon::make_epoch() {
  std::random_device random;
  std::uint64_t bits = (std::uint64_t(random()) << 32) ^ random();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(bits));
  return buf;
}

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)),
      engine_(fs_, clock_, options_.engine),
      journal_(options_.journal_events, options_.journal_bytes),
      manager_(journal_),
      handler_(engine_, journal_, manager_, options_.connection,
               DaemonInfo{make_epoch(), std::chrono::steady_clock::now(),
                          [this] { return std::string(watcher_ ? watcher_->name() : "none"); }}),
      context_{engine_, journal_, handler_, manager_, options_.connection},
      server_(io_, context_),
      expiry_timer_(io_, [this] {
        engine_.advance_clock();
        expiry_timer_.arm(engine_.next_deadline());
      }),
      signals_(io_, SIGINT, SIGTERM) {
  // Listen first: if another daemon serves this socket we must not even scan.
  server_.listen(options_.socket_path);

  try {
    watcher_ = std::make_unique<InotifyWatcher>(io_, engine_);
  } catch (const std::system_error& e) {
    throw std::runtime_error(std::string("cannot start the inotify backend: ") + e.what());
  }
  // Watches before the scan, so nothing written during the scan is missed.
  for (const std::string& root : options_.roots) {
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

  journal_.start_after(engine_.last_seq());
  engine_.set_sink(&manager_);
  engine_.set_deadline_listener([this] { expiry_timer_.arm(engine_.next_deadline()); });
  expiry_timer_.arm(engine_.next_deadline());
}

Daemon::~Daemon() = default;

int Daemon::run() {
  std::signal(SIGPIPE, SIG_IGN);
  signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received {}; shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
    shutdown();
  });
  server_.start();
  std::string roots;
  for (RootId id : engine_.root_ids()) roots += (roots.empty() ? "" : ", ") + engine_.root_path(id);
  spdlog::info("coordd {} serving {} ({}), watching {}", COORDD_VERSION, options_.socket_path,
               watcher_->name(), escape_control(roots));
  io_.run();
  return 0;
}

void Daemon::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  server_.stop();
  manager_.stop_all();
  watcher_->stop();
  expiry_timer_.stop();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  io_.stop();
}

}  // namespace coordd
