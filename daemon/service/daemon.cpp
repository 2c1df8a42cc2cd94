#include "daemon/service/daemon.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <random>
#include <stdexcept>

#include "daemon/service/logging.hpp"
#include "daemon/service/roots_file.hpp"
#include "daemon/service/socket_activation.hpp"
#include "proto/display.hpp"

namespace coordd {
namespace {

// A scan allocates scratch (every listed name) among the records it keeps;
// freed, it would stay resident until reused. Give those pages back.
void release_scan_scratch() {
#if defined(__GLIBC__)
  ::malloc_trim(0);
#endif
}

// The cluster's options with the bus's limits, which the swarm's message
// stream and mailbox consumers take too.
ClusterOptions with_message_limits(ClusterOptions cluster, const MessageLimits& messages) {
  cluster.mailbox_ttl = messages.mailbox_ttl;
  cluster.mailbox_messages = std::int64_t(messages.mailbox_messages);
  return cluster;
}

}  // namespace

std::string Daemon::make_epoch() {
  std::random_device random;
  std::uint64_t bits = (std::uint64_t(random()) << 32) ^ random();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(bits));
  return buf;
}

Daemon::Daemon(DaemonOptions options)
    : options_(std::move(options)),
      notifier_(io_),
      monitor_(io_, options_.monitor),
      epoch_(make_epoch()),
      cluster_(options_.cluster.servers.empty()
                   ? nullptr
                   : std::make_unique<ClusterLink>(
                         io_, monitor_.engine(), monitor_.file_system(),
                         with_message_limits(options_.cluster, options_.messages), epoch_)),
      core_(io_, monitor_,
            ServerLimits{options_.journal_events, options_.journal_bytes, options_.connection,
                         options_.messages},
            DaemonInfo{epoch_, monitor_.engine().clock().steady_now(),
                       [this] { return monitor_.backend(); }, options_.test_hooks, cluster_.get()}),
      server_(io_, core_.manager(), core_.context(), options_.peers),
      stop_signals_(io_, SIGINT, SIGTERM),
      reload_signals_(io_, SIGHUP) {
  // The socket first: if another daemon serves it we must not even scan.
  ActivatedSockets activated = take_activated_sockets();
  if (!activated.error.empty()) throw std::runtime_error(activated.error);
  if (activated.fds.empty()) {
    server_.listen(options_.socket_path);
    listening_on_ = options_.socket_path;
  } else {
    for (std::size_t i = 0; i < activated.fds.size(); ++i) {
      server_.adopt(activated.fds[i]);
      std::string name = i < activated.names.size() ? activated.names[i] : "";
      listening_on_ += (listening_on_.empty() ? "" : ", ") + std::string("activated fd ") +
                       std::to_string(activated.fds[i]) + (name.empty() ? "" : " (" + name + ")");
    }
  }

  // Before the scan, too: a state directory given with --state-dir that
  // cannot be used (another coordd holds it) is a reason not to start. The
  // default one is a convenience, not a promise: a HOME this user cannot
  // write, or a second coordd of the same user on another socket, still
  // serves, memory only, and says so.
  if (!options_.state_dir.empty()) {
    Result<std::unique_ptr<DiskLogDirectory>> dir = DiskLogDirectory::open(options_.state_dir);
    if (dir.ok()) {
      MessageLogOptions log_options;
      log_options.fsync = options_.message_fsync;
      log_options.max_bytes =
          2 * options_.messages.mailbox_total_bytes + 8 * kMessageLogSegmentBytes;
      message_log_ = std::make_unique<MessageLog>(std::move(*dir), log_options);
      spdlog::info("targeted messages are logged in {} ({})", options_.state_dir,
                   options_.message_fsync ? "fdatasync before each sent" : "no fsync");
    } else if (options_.state_dir_given) {
      throw std::runtime_error(dir.status().message());
    } else {
      spdlog::warn(
          "{}; messages live in memory only (pass --state-dir DIR to keep them across "
          "restarts, or --state-dir none to say you mean it)",
          dir.status().message());
    }
  } else {
    spdlog::info("messages live in memory only (--state-dir none)");
  }

  std::vector<std::string> roots = options_.roots;
  if (!options_.roots_file.empty()) {
    Result<RootsFile> file = read_roots_file(options_.roots_file);
    if (!file.ok()) throw std::runtime_error(file.status().message());
    for (const std::string& root : file->roots) {
      file_roots_.insert(root);
      if (std::find(roots.begin(), roots.end(), root) == roots.end()) roots.push_back(root);
    }
    if (file->log_level) spdlog::set_level(spdlog::level::from_str(*file->log_level));
  }
  if (roots.empty())
    throw std::runtime_error("no repository to watch: give --root or --roots-file");
  monitor_.start(roots);
  if (cluster_) cluster_->attach_bus(core_.bus());
  core_.start(message_log_.get());
  if (cluster_) cluster_->start();
}

Daemon::~Daemon() = default;

std::string Daemon::status_line() const {
  const Engine& engine = monitor_.engine();
  return "watching " + std::to_string(engine.root_ids().size()) + " root(s), " +
         std::to_string(engine.store().size()) + " records, " +
         std::to_string(engine.leases().active_count()) + " active lease(s) (" +
         monitor_.backend() + ")";
}

void Daemon::wait_for_signals() {
  stop_signals_.async_wait([this](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("received {}; shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
    shutdown();
  });
  wait_for_reload();
}

void Daemon::wait_for_reload() {
  reload_signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    reload();
    wait_for_reload();
  });
}

void Daemon::reload() {
  notifier_.reloading();
  spdlog::info("received SIGHUP; reopening the log and re-reading configuration");
  reopen_log();
  if (!options_.roots_file.empty()) {
    Result<RootsFile> file = read_roots_file(options_.roots_file);
    if (!file.ok()) {
      spdlog::error("{}; keeping the current roots", escape_control(file.status().message()));
    } else {
      std::set<std::string> wanted(file->roots.begin(), file->roots.end());
      for (const std::string& root : file_roots_) {
        bool from_flag =
            std::find(options_.roots.begin(), options_.roots.end(), root) != options_.roots.end();
        if (!wanted.contains(root) && !from_flag) monitor_.remove_root(root);
      }
      for (const std::string& root : wanted) {
        Status added = monitor_.add_root(root);
        if (!added.ok())
          spdlog::error("cannot watch {}: {}", root, escape_control(added.message()));
      }
      file_roots_ = std::move(wanted);
      release_scan_scratch();
      if (file->log_level) {
        spdlog::set_level(spdlog::level::from_str(*file->log_level));
        spdlog::info("log level is now {}", *file->log_level);
      }
    }
  }
  notifier_.ready(status_line());
}

int Daemon::run() {
  std::signal(SIGPIPE, SIG_IGN);
  wait_for_signals();
  server_.start();
  const Engine& engine = monitor_.engine();
  std::string roots;
  for (RootId id : engine.root_ids()) roots += (roots.empty() ? "" : ", ") + engine.root_path(id);
  spdlog::info("coordd {} serving {} ({}), watching {}", COORDD_VERSION, listening_on_,
               monitor_.backend(), escape_control(roots));
  release_scan_scratch();
  // Ready only now: every root is scanned and the socket accepts.
  notifier_.ready(status_line());
  notifier_.start_watchdog();
  io_.run();
  return 0;
}

void Daemon::shutdown() {
  if (stopped_) return;
  stopped_ = true;
  notifier_.stopping();
  notifier_.stop();
  server_.stop();
  if (cluster_) cluster_->stop();
  core_.stop();
  monitor_.stop();
  boost::system::error_code ignored;
  stop_signals_.cancel(ignored);
  reload_signals_.cancel(ignored);
  io_.stop();
}

}  // namespace coordd
