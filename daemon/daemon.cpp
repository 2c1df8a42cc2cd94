#include "daemon/daemon.hpp"

#include <spdlog/spdlog.h>

#include <csignal>
#include <random>
#include <stdexcept>

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
      monitor_(io_, options_.engine),
      journal_(options_.journal_events, options_.journal_bytes),
      manager_(journal_),
      sync_(io_, monitor_.engine(), monitor_.file_system()),
      bus_(io_, monitor_.engine(), manager_, options_.messages),
      handler_(monitor_.engine(), journal_, manager_, sync_, bus_, options_.connection,
               DaemonInfo{make_epoch(), std::chrono::steady_clock::now(),
                          [this] { return std::string(monitor_.backend()); }}),
      context_{monitor_.engine(), journal_, handler_, manager_, bus_, options_.connection},
      server_(io_, context_),
      signals_(io_, SIGINT, SIGTERM) {
  // Listen first: if another daemon serves this socket we must not even scan.
  server_.listen(options_.socket_path);
  monitor_.start(options_.roots);
  sync_.set_cookies_ordered(monitor_.orders_cookies());
  sync_.remove_stray_cookies();
  monitor_.engine().set_cookie_listener(
      [this](RootId root, std::string_view name) { sync_.on_cookie(root, name); });
  journal_.start_after(monitor_.engine().last_seq());
  monitor_.set_sink(&manager_);
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
  const Engine& engine = monitor_.engine();
  std::string roots;
  for (RootId id : engine.root_ids()) roots += (roots.empty() ? "" : ", ") + engine.root_path(id);
  spdlog::info("coordd {} serving {} ({}), watching {}", COORDD_VERSION, options_.socket_path,
               monitor_.backend(), escape_control(roots));
  io_.run();
  return 0;
}

void Daemon::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  server_.stop();
  manager_.stop_all();
  sync_.cancel_all();
  monitor_.stop();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  io_.stop();
}

}  // namespace coordd
