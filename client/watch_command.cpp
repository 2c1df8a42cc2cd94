#include "client/watch_command.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "client/daemon_connection.hpp"
#include "client/daemon_source.hpp"
#include "client/event_printer.hpp"
#include "client/python_json.hpp"
#include "client/repo_root.hpp"
#include "client/standalone_source.hpp"
#include "client/stop_signals.hpp"
#include "client/watch_view.hpp"
#include "proto/display.hpp"
#include "proto/socket_path.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

constexpr const char* kDescription =
    "Stream coordination events in real time (a drop-in for `muse coord watch`).";

constexpr const char* kDetails =
    "Streams the events (snapshot, added, modified, removed, expired) of a repository's\n"
    ".muse/coordination/ records, as `muse coord watch` does and with the same flags. Events come\n"
    "from coordd when it watches the repository, else from the same engine run in-process\n"
    "(standalone). Exit status: 0 on --once, --timeout, --max-events, SIGINT or SIGTERM; 1 on bad\n"
    "arguments or when the repository cannot be watched.\n\n"
    "Examples:\n"
    "  coordctl watch                    # stream all events until Ctrl-C\n"
    "  coordctl watch --once --json      # current state as NDJSON snapshots, then exit\n"
    "  coordctl watch --kind reservation --run-id agent-42 --timeout 60\n"
    "  coordctl watch --json | jq -c 'select(.event_type == \"expired\")'";

// Muse's two error channels: a JSON line on stdout, or "❌ msg" on stderr.
void report_bad_args(const std::string& message, bool json_mode) {
  if (json_mode) {
    json::object line;
    line["error"] = message;
    line["status"] = "bad_args";
    std::printf("%s\n", python_json_dumps(line).c_str());
    std::fflush(stdout);
  } else {
    std::fprintf(stderr, "❌ %s\n", strip_control(message).c_str());
  }
}

void report_error(const std::string& message) {
  std::fprintf(stderr, "❌ %s\n", strip_control(message).c_str());
}

WatchPlan plan_of(const WatchOptions& options, const std::string& root) {
  auto poll_interval = std::chrono::milliseconds(std::llround(options.poll_interval * 1000.0));
  WatchPlan plan{root,         options.kind,    options.run_id, options.branch,
                 options.once, options.timeout, poll_interval};
  plan.coordd_events = options.coordd_events;
  return plan;
}

}  // namespace

CLI::App* add_watch_command(CLI::App& app, WatchArgs& args) {
  CLI::App* sub = app.add_subcommand("watch", kDescription);
  sub->footer(kDetails);
  sub->add_flag("--once", args.once, "Emit current state as snapshot events, then exit.");
  sub->add_option_function<std::string>(
         "--timeout", [&args](const std::string& v) { args.timeout = v; },
         "Stop watching SECONDS after the snapshot (>= 0; 0 is --once).")
      ->type_name("SECONDS");
  sub->add_option_function<std::string>(
         "--max-events", [&args](const std::string& v) { args.max_events = v; },
         "Exit after emitting N events, snapshot and change events alike (>= 1).")
      ->type_name("N");
  sub->add_option("--poll-interval", args.poll_interval,
                  "Seconds between scans when the polling backend is used (standalone mode, "
                  "where inotify cannot watch the repository); default 1.0, range [0.01, 3600].")
      ->type_name("SECS");
  sub->add_option_function<std::string>(
         "--run-id", [&args](const std::string& v) { args.run_id = v; },
         "Only events whose data.run_id is RUNID (at most 256 characters).")
      ->type_name("RUNID");
  sub->add_option_function<std::string>(
         "-b,--branch", [&args](const std::string& v) { args.branch = v; },
         "Only events whose data.branch is BRANCH.")
      ->type_name("BRANCH");
  sub->add_option_function<std::string>(
         "--kind", [&args](const std::string& v) { args.kind = v; },
         "Only events of this kind: " + valid_kind_names() + " (plural names accepted).")
      ->type_name("KIND");
  sub->add_flag("-j,--json", args.json,
                "NDJSON output: one event per line (same as --format json).");
  sub->add_option("-f,--format", args.format, "Output format: text (default) or json.")
      ->type_name("text|json");
  sub->add_flag("--coordd-events", args.coordd_events,
                "Also print the events coordd adds to Muse's: `expired` for claims carrying "
                "expires_at (Muse reports expiry for reservations only).");
  sub->add_flag(
      "--require-daemon", args.require_daemon,
      "Fail (exit 1) instead of watching standalone when no coordd serves the repository.");
  sub->add_option_function<std::string>(
         "--root", [&args](const std::string& v) { args.root = v; },
         "Repository to watch. Default: the nearest ancestor of the working directory holding "
         ".muse/, else the working directory.")
      ->type_name("DIR");
  add_socket_option(sub, args.socket);
  return sub;
}

std::string filter_summary(const WatchOptions& options) {
  std::string out;
  auto add = [&out](std::string part) { out += (out.empty() ? "" : ", ") + part; };
  if (options.kind) add("kind=" + std::string(kind_name(*options.kind)));
  if (options.run_id) add("run-id=" + strip_control(*options.run_id));
  if (options.branch) add("branch=" + strip_control(*options.branch));
  if (options.max_events) add("max-events=" + std::to_string(*options.max_events));
  return out;
}

namespace {

// How long a watch waits for coordd to come back before going standalone.
constexpr std::chrono::milliseconds kDaemonReturnWindow{5000};

// Muse creates the coordination directories it watches; so does the drop-in
// (never through a symlinked .muse or coordination directory).
void ensure_coordination_dirs(const std::string& root) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path muse = fs::path(root) / ".muse";
  fs::path coordination = muse / "coordination";
  if (fs::is_symlink(muse, ec) || fs::is_symlink(coordination, ec)) return;
  for (Kind kind : kAllKinds) fs::create_directories(coordination / kind_dir(kind), ec);
}

}  // namespace

int run_watch(const WatchArgs& args) {
  ValidatedWatch validated = validate_watch_args(args);
  if (!validated.error.empty()) {
    report_bad_args(validated.error, wants_json(args));
    return 1;
  }
  const WatchOptions& options = validated.options;
  ResolvedRoot root = resolve_root(options.root);
  if (root.not_found) {
    std::fprintf(stderr, "%s\n", kNotAMuseRepository);
    return kRepoNotFoundExit;
  }
  if (!root.error.empty()) {
    report_error(root.error);
    return 1;
  }
  ensure_coordination_dirs(root.path);
  std::string socket = options.socket.empty() ? default_socket_path() : options.socket;
  StopSignals::install();

  EventPrinter printer(stdout,
                       options.json ? EventPrinter::Format::kJson : EventPrinter::Format::kText,
                       !options.json && colour_wanted(stdout));
  std::int64_t emitted = 0;
  WatchPlan plan = plan_of(options, root.path);
  WatchView view(plan, [&](const json::object& event) {
    printer.event(event);
    ++emitted;
    return !options.max_events || emitted < *options.max_events;
  });
  WatchDeadline deadline;
  std::string filters = filter_summary(options);
  // Every way of watching ends the same way: the closing line, then any error.
  auto finish = [&printer](const WatchError& error) {
    printer.footer();
    if (!error.empty()) report_error(error);
    return error.empty() ? 0 : 1;
  };
  // In-process, from the start (with a header) or after coordd went away.
  auto standalone = [&](bool header) {
    StandaloneSource source(plan);
    if (std::string error = source.start(); !error.empty()) {
      return finish("cannot watch " + root.path + ": " + error);
    }
    if (header) printer.header(root.path, "standalone: " + source.backend(), filters);
    return finish(source.run(view, deadline));
  };

  DaemonSource daemon(socket, plan);
  std::string why_not = daemon.connect();
  if (StopSignals::requested()) return 0;
  if (why_not.empty() && !daemon.watches_root()) {
    why_not = "coordd at " + socket + " does not watch " + root.path;
  } else if (!why_not.empty()) {
    why_not = "no coordd answers at " + socket + " (" + why_not + ")";
  }
  if (why_not.empty()) {
    printer.header(root.path, "daemon: " + daemon.backend(), filters);
    // Across daemon restarts: reconnect, resume or rebase, and print on.
    while (daemon.run(view, deadline) == DaemonSource::End::kLost) {
      if (daemon.reconnect(kDaemonReturnWindow, deadline)) continue;
      if (StopSignals::requested() || (deadline && std::chrono::steady_clock::now() >= *deadline)) {
        return finish("");
      }
      std::string gone = "coordd at " + socket + " went away and did not come back within " +
                         std::to_string(kDaemonReturnWindow.count() / 1000) + " s";
      if (options.require_daemon) return finish(gone);
      std::fprintf(stderr, "coordctl: %s; watching in-process from here on\n",
                   strip_control(gone).c_str());
      return standalone(false);
    }
    return finish(daemon.error());
  }

  if (options.require_daemon) {
    report_error(why_not + "; " + start_daemon_hint(root.path, socket));
    return 1;
  }
  // Nothing listening is the ordinary standalone case; anything else is worth a note.
  if (!daemon.nothing_listens()) {
    std::fprintf(stderr, "coordctl: %s; watching in-process\n", strip_control(why_not).c_str());
  }
  return standalone(true);
}

}  // namespace coordd
