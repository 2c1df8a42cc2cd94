// coordd's entry point: parses flags, sets up logging, runs a Daemon.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "daemon/daemon.hpp"
#include "proto/socket_path.hpp"

namespace {

namespace fs = std::filesystem;

// The nearest ancestor of the working directory holding .muse/, else the
// working directory itself (as muse finds its repo).
std::string default_root() {
  fs::path cwd = fs::current_path();
  for (fs::path dir = cwd; !dir.empty(); dir = dir.parent_path()) {
    std::error_code ec;
    if (fs::is_directory(dir / ".muse", ec)) return dir.string();
    if (dir == dir.root_path()) break;
  }
  return cwd.string();
}

std::string canonical_root(const std::string& root) {
  std::error_code ec;
  fs::path path = fs::canonical(root, ec);
  if (ec) throw std::runtime_error("--root " + root + ": " + ec.message());
  if (!fs::is_directory(path, ec)) throw std::runtime_error("--root " + root + " is not a directory");
  return path.string();
}

}  // namespace

int main(int argc, char** argv) {
  coordd::DaemonOptions options;
  std::string log_level = "info";
  double grace_s = 30.0;

  CLI::App app{
      "coordd — watches the .muse/coordination/ records of one or more repositories and streams\n"
      "their changes (snapshot, added, modified, removed, expired) as NDJSON to clients on a\n"
      "Unix socket. Runs in the foreground and logs to stderr.\n\n"
      "Example:\n"
      "  coordd --root ~/src/myrepo &\n"
      "  echo '{\"op\":\"subscribe\"}' | socat - UNIX-CONNECT:$XDG_RUNTIME_DIR/coordd/coordd.sock\n",
      "coordd"};
  app.set_version_flag("--version", std::string("coordd ") + COORDD_VERSION);
  app.add_option("--root", options.roots,
                 "Repository to watch (repeatable). Default: the nearest ancestor of the working "
                 "directory holding .muse/, else the working directory.");
  app.add_option("--socket", options.socket_path,
                 "Unix socket to listen on. Default: $COORDD_SOCKET, else "
                 "$XDG_RUNTIME_DIR/coordd/coordd.sock, else /tmp/coordd-<uid>/coordd.sock.");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--max-record-bytes", options.engine.max_record_bytes,
                 "Largest record file read; larger files are skipped and counted.")
      ->check(CLI::Range(std::size_t(2), std::size_t(1) << 30))
      ->capture_default_str();
  app.add_option("--max-frame-bytes", options.connection.max_frame_bytes,
                 "Longest request line accepted; a longer one gets frame_too_large and the "
                 "connection is closed.")
      ->check(CLI::Range(std::size_t(64), std::size_t(1) << 30))
      ->capture_default_str();
  app.add_option("--journal-size", options.journal_events,
                 "Events kept for resuming subscribers (also bounded by --journal-max-bytes).")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 26))
      ->capture_default_str();
  app.add_option("--journal-max-bytes", options.journal_bytes, "Byte bound of the journal.")
      ->check(CLI::Range(std::size_t(1024), std::size_t(1) << 34))
      ->capture_default_str();
  app.add_option("--queue-max-events", options.connection.queue_max_lines,
                 "Per-client outbound queue bound, in lines; beyond it events are dropped and "
                 "reported with a lagged marker.")
      ->check(CLI::Range(std::size_t(16), std::size_t(1) << 24))
      ->capture_default_str();
  app.add_option("--queue-max-bytes", options.connection.queue_max_bytes,
                 "Per-client outbound queue bound, in bytes.")
      ->check(CLI::Range(std::size_t(4096), std::size_t(1) << 34))
      ->capture_default_str();
  app.add_option("--slow-consumer-grace", grace_s,
                 "Seconds a client may stay over its queue bound before it is disconnected with "
                 "slow_consumer.")
      ->check(CLI::Range(0.01, 86400.0))
      ->capture_default_str();

  double mailbox_ttl_s = 300.0;
  app.add_option("--mailbox-max-messages", options.messages.mailbox_messages,
                 "Messages an agent's mailbox holds; a send beyond it gets mailbox_full.")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 24))
      ->capture_default_str();
  app.add_option("--mailbox-max-bytes", options.messages.mailbox_bytes,
                 "Bytes an agent's mailbox holds.")
      ->check(CLI::Range(std::size_t(1024), std::size_t(1) << 34))
      ->capture_default_str();
  app.add_option("--mailbox-ttl", mailbox_ttl_s,
                 "Seconds a disconnected agent's mailbox keeps accepting messages; after that "
                 "senders get not_subscribed. Messages live in memory only.")
      ->check(CLI::Range(0.0, 86400.0 * 7))
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  auto logger = spdlog::stderr_color_mt("coordd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  try {
    if (options.roots.empty()) options.roots.push_back(default_root());
    for (std::string& root : options.roots) root = canonical_root(root);
    if (options.socket_path.empty()) options.socket_path = coordd::default_socket_path();
    options.messages.mailbox_ttl =
        std::chrono::milliseconds(static_cast<long long>(mailbox_ttl_s * 1000));
    options.connection.slow_consumer_grace =
        std::chrono::milliseconds(static_cast<long long>(grace_s * 1000));
    coordd::Daemon daemon(std::move(options));
    return daemon.run();
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }
}
