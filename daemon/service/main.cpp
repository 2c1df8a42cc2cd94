// coordd's entry point: parses flags, sets up logging, runs a Daemon.
#include <grp.h>
#include <pwd.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "daemon/service/daemon.hpp"
#include "daemon/service/logging.hpp"
#include "daemon/service/roots_file.hpp"
#include "proto/cluster_names.hpp"
#include "proto/display.hpp"
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

// A uid or gid given as a number or a name.
unsigned resolve_id(const std::string& text, bool group) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    return unsigned(std::stoul(text));
  }
  if (group) {
    if (const struct group* g = ::getgrnam(text.c_str())) return g->gr_gid;
    throw std::runtime_error("--allow-gid " + text + ": no such group");
  }
  if (const struct passwd* p = ::getpwnam(text.c_str())) return p->pw_uid;
  throw std::runtime_error("--allow-uid " + text + ": no such user");
}

// $XDG_STATE_HOME/coordd, else ~/.local/state/coordd; "none" when neither
// can be told.
std::string default_state_dir() {
  if (const char* state = std::getenv("XDG_STATE_HOME"); state && state[0] == '/') {
    return (fs::path(state) / "coordd").string();
  }
  if (const char* home = std::getenv("HOME"); home && home[0] == '/') {
    return (fs::path(home) / ".local" / "state" / "coordd").string();
  }
  return "none";
}

std::string canonical_root(const std::string& root) {
  std::error_code ec;
  fs::path path = fs::canonical(root, ec);
  if (ec) throw std::runtime_error("--root " + root + ": " + ec.message());
  if (!fs::is_directory(path, ec))
    throw std::runtime_error("--root " + root + " is not a directory");
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
      "  echo '{\"op\":\"subscribe\"}' | socat - "
      "UNIX-CONNECT:$XDG_RUNTIME_DIR/coordd/coordd.sock\n",
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
  app.add_option("--max-record-bytes", options.monitor.engine.max_record_bytes,
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
  std::string backend = "auto";
  double poll_interval_s = 1.0;
  app.add_option("--backend", backend,
                 "How to watch: inotify (the kernel), poll (scan every --poll-interval), or auto: "
                 "inotify, falling back to poll with a warning when inotify is unavailable, out "
                 "of watches, or the repository is on NFS/CIFS/FUSE.")
      ->check(CLI::IsMember({"auto", "inotify", "kqueue", "poll"}))
      ->capture_default_str();
  app.add_option("--poll-interval", poll_interval_s,
                 "Seconds between scans of the polling backend.")
      ->check(CLI::Range(0.01, 3600.0))
      ->capture_default_str();
  unsigned temp_spin_us = unsigned(coordd::kDefaultTempSpin.count());
  app.add_option("--temp-spin-us", temp_spin_us,
                 "After a writer creates a dot-temp file in a coordination directory, keep "
                 "reading for up to this many microseconds instead of sleeping, so the rename "
                 "that follows is handled at once (inotify only). Costs at most that much CPU per "
                 "atomic write, none while idle; 0 turns it off.")
      ->check(CLI::Range(0u, 100'000u))
      ->capture_default_str();
  app.add_option("--mailbox-max-messages", options.messages.mailbox_messages,
                 "Messages an agent's mailbox holds; a send beyond it gets mailbox_full.")
      ->check(CLI::Range(std::size_t(1), std::size_t(1) << 24))
      ->capture_default_str();
  app.add_option("--mailbox-max-bytes", options.messages.mailbox_bytes,
                 "Bytes an agent's mailbox holds.")
      ->check(CLI::Range(std::size_t(1024), std::size_t(1) << 34))
      ->capture_default_str();
  app.add_option("--mailbox-total-max-bytes", options.messages.mailbox_total_bytes,
                 "Bytes all mailboxes together hold; a send beyond it gets mailbox_full, a "
                 "broadcast that does not fit is owed as a lagged marker.")
      ->check(CLI::Range(std::size_t(1024), std::size_t(1) << 40))
      ->capture_default_str();
  app.add_option("--mailbox-ttl", mailbox_ttl_s,
                 "Seconds a disconnected agent's mailbox keeps accepting messages; after that "
                 "senders get not_subscribed. After a restart a logged message waits this long "
                 "from its send, on wall time.")
      ->check(CLI::Range(0.0, 86400.0 * 7))
      ->capture_default_str();
  std::string state_dir = default_state_dir();
  CLI::Option* state_dir_option =
      app.add_option(
             "--state-dir", state_dir,
             "Directory (0700, yours alone, one coordd at a time) of the message log: every "
             "targeted message answered with sent is written there first and, after a crash "
             "or restart, delivered to its agent after its next hello, once, in order. "
             "Broadcasts are not logged. 'none': messages live in memory only. Default: "
             "$XDG_STATE_HOME/coordd, else ~/.local/state/coordd; when the default cannot be "
             "used (unwritable, or held by another coordd) this one runs memory only and "
             "warns, while a directory named here that cannot be used stops it.")
          ->capture_default_str();
  app.add_flag("--message-fsync,!--no-message-fsync", options.message_fsync,
               "On by default: fdatasync the message log before each sent, so a message survives "
               "power loss and not only a killed coordd. That flush is most of a send's cost "
               "(bench: coordd_bench --only send); --no-message-fsync keeps messages across a "
               "killed or restarted coordd, not across power loss.");

  std::string log_file;
  std::vector<std::string> allow_uids, allow_gids;
  app.add_option("--roots-file", options.roots_file,
                 "File listing repositories to watch, one per line ('#' comments; a line "
                 "'log-level LEVEL' sets the log level). Re-read on SIGHUP.");
  app.add_option("--log-file", log_file,
                 "Log here instead of stderr; reopened on SIGHUP (for logrotate).");
  app.add_option("--allow-uid", allow_uids,
                 "Also accept clients with this uid or user name (repeatable), read-only unless "
                 "--allow-write. The daemon's own uid and root are always accepted.");
  app.add_option("--allow-gid", allow_gids,
                 "Also accept clients in this group, by gid or name (repeatable; primary or "
                 "supplementary), read-only unless --allow-write.");
  app.add_flag("--allow-write", options.peers.allow_write,
               "Let --allow-uid/--allow-gid clients send messages and add or remove roots too.");
  // The swarm (README: "Run a swarm across machines").
  std::string cluster_urls;
  std::vector<std::string> repo_ids;
  coordd::ClusterOptions& cluster = options.cluster;
  cluster.cluster_name = "coordd";
  app.add_option(
         "--cluster", cluster_urls,
         "Join a swarm of coordd instances through these NATS JetStream servers\n"
         "(comma-separated, e.g. nats://h1:4222,nats://h2:4222). Records of roots with\n"
         "the same repo id on every host merge into one view; each carries \"origin\".\n"
         "Unset: no NATS connection, no thread, libnats not loaded. The roots file may say it\n"
         "too (`cluster URL,...`, cluster-name, host-id, cluster-creds, cluster-tls-*,\n"
         "and repo-id=ID after a root's path); flags win.")
      ->group("Swarm");
  CLI::Option* cluster_name_option =
      app.add_option("--cluster-name", cluster.cluster_name,
                     "The swarm's name: its buckets are coord_NAME_*. [A-Za-z0-9_-]{1,64}.")
          ->capture_default_str()
          ->group("Swarm");
  app.add_option("--host-id", cluster.host_id,
                 "This coordd's id in the swarm, unique there (default: the host name).")
      ->group("Swarm");
  app.add_option("--repo-id", repo_ids,
                 "ROOT=ID: the repo id a root joins under (default: derived from the clone's\n"
                 "origin remote URL, so git@host:org/r.git and https://host/org/r agree).")
      ->group("Swarm");
  std::vector<std::string> mirror_roots;
  app.add_option("--mirror", mirror_roots,
                 "ROOT: also write the other hosts' records of this shared root into its\n"
                 ".muse/coordination/ (atomically; each copy names its origin in a\n"
                 "\"coordd_mirror_of\" field and is never published back), so Muse's own tools\n"
                 "see the whole swarm. A copy goes when its origin removes the record; deleting\n"
                 "one here deletes nothing elsewhere; a local file is never overwritten.\n"
                 "Repeatable; roots-file lines say it with a trailing `mirror`.")
      ->group("Swarm");
  app.add_option("--cluster-creds", cluster.creds_file,
                 "A NATS .creds file (JWT + seed). Who may join is NATS authorization's call.")
      ->group("Swarm");
  app.add_option("--cluster-tls-ca", cluster.tls_ca, "CA certificates to trust (PEM).")
      ->group("Swarm");
  app.add_option("--cluster-tls-cert", cluster.tls_cert, "Client certificate chain (PEM).")
      ->group("Swarm");
  app.add_option("--cluster-tls-key", cluster.tls_key, "Client certificate's key (PEM).")
      ->group("Swarm");
  app.add_option("--cluster-replicas", cluster.replicas,
                 "Replicas of a bucket this coordd creates (default 3, or 1 on a single server).")
      ->check(CLI::Range(0, 5))
      ->group("Swarm");
  app.add_flag("--cluster-discovery,!--no-cluster-discovery", cluster.discover_servers,
               "Also use the servers the NATS cluster announces (default); with\n"
               "--no-cluster-discovery only the --cluster servers, in the order given (for\n"
               "servers whose announced addresses this host cannot reach).")
      ->group("Swarm");
  app.add_flag("--test-hooks", options.test_hooks, "Enable test-only requests (debug_stall).")
      ->group("");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (coordd::Status logging = coordd::setup_logging(log_file, spdlog::level::from_str(log_level));
      !logging.ok()) {
    std::cerr << "coordd: " << logging.message() << "\n";
    return 1;
  }
  try {
    for (const std::string& uid : allow_uids)
      options.peers.allow_uids.insert(resolve_id(uid, false));
    for (const std::string& gid : allow_gids)
      options.peers.allow_gids.insert(resolve_id(gid, true));
  } catch (const std::exception& e) {
    spdlog::error("{}", e.what());
    return 1;
  }

  try {
    if (options.roots.empty() && options.roots_file.empty())
      options.roots.push_back(default_root());
    for (std::string& root : options.roots) root = canonical_root(root);
    if (options.socket_path.empty()) options.socket_path = coordd::default_socket_path();
    if (state_dir != "none") {
      if (state_dir.empty() || state_dir[0] != '/')
        throw std::runtime_error("--state-dir " + state_dir + " must be an absolute path, or none");
      options.state_dir = state_dir;
      options.state_dir_given = state_dir_option->count() > 0;
    }
    // The roots file may hold the swarm settings too; a flag wins over its line.
    if (!options.roots_file.empty()) {
      coordd::Result<coordd::RootsFile> file = coordd::read_roots_file(options.roots_file);
      if (!file.ok()) throw std::runtime_error(file.status().message());
      const coordd::ClusterSettings& set = file->cluster;
      if (cluster_urls.empty() && set.urls) {
        for (const std::string& url : *set.urls) {
          cluster_urls += (cluster_urls.empty() ? "" : ",") + url;
        }
      }
      if (set.name && cluster_name_option->count() == 0) cluster.cluster_name = *set.name;
      if (set.host_id && cluster.host_id.empty()) cluster.host_id = *set.host_id;
      if (set.creds_file && cluster.creds_file.empty()) cluster.creds_file = *set.creds_file;
      if (set.tls_ca_file && cluster.tls_ca.empty()) cluster.tls_ca = *set.tls_ca_file;
      if (set.tls_cert_file && cluster.tls_cert.empty()) cluster.tls_cert = *set.tls_cert_file;
      if (set.tls_key_file && cluster.tls_key.empty()) cluster.tls_key = *set.tls_key_file;
      for (const coordd::RootEntry& entry : file->entries) {
        if (entry.repo_id) cluster.repo_ids[entry.path] = *entry.repo_id;
        if (entry.mirror) cluster.mirror_roots.insert(entry.path);
      }
    }
    if (!cluster_urls.empty()) {
      for (std::size_t start = 0; start <= cluster_urls.size();) {
        std::size_t comma = std::min(cluster_urls.find(',', start), cluster_urls.size());
        std::string url = cluster_urls.substr(start, comma - start);
        if (!url.starts_with("nats://") && !url.starts_with("tls://"))
          throw std::runtime_error("--cluster " + coordd::without_userinfo(url) +
                                   ": expected nats://HOST:PORT or tls://...");
        cluster.servers.push_back(url);
        start = comma + 1;
      }
      if (auto name = coordd::validate_cluster_name(cluster.cluster_name); !name.ok())
        throw std::runtime_error("--cluster-name: " + name.status().message());
      if (cluster.host_id.empty()) {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        cluster.host_id = host;
      }
      if (auto host = coordd::validate_host_id(cluster.host_id); !host.ok())
        throw std::runtime_error("--host-id: " + host.status().message());
      if (!cluster.tls_cert.empty() != !cluster.tls_key.empty())
        throw std::runtime_error("--cluster-tls-cert and --cluster-tls-key go together");
    }
    for (const std::string& given : repo_ids) {
      std::size_t eq = given.rfind('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == given.size())
        throw std::runtime_error("--repo-id " + given + ": expected ROOT=ID");
      std::string id = given.substr(eq + 1);
      if (auto valid = coordd::validate_repo_id(id); !valid.ok())
        throw std::runtime_error("--repo-id " + given + ": " + valid.status().message());
      cluster.repo_ids[canonical_root(given.substr(0, eq))] = id;
    }
    for (const std::string& root : mirror_roots) cluster.mirror_roots.insert(canonical_root(root));
    if (!cluster.mirror_roots.empty() && cluster.servers.empty())
      throw std::runtime_error(
          "--mirror needs --cluster: there is nothing to mirror without a swarm");
    // "inotify" and "kqueue" both name the kernel backend of the platform.
    bool kernel = backend == "inotify" || backend == "kqueue";
    options.monitor.backend = backend == "poll" ? coordd::BackendChoice::kPoll
                              : kernel          ? coordd::BackendChoice::kInotify
                                                : coordd::BackendChoice::kAuto;
    options.monitor.temp_spin = std::chrono::microseconds(temp_spin_us);
    options.monitor.poll_interval =
        std::chrono::milliseconds(static_cast<long long>(poll_interval_s * 1000));
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
