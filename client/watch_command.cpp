#include "client/watch_command.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "client/argparse_parser.hpp"
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

constexpr const char* kDetails =
    "Streams the events (snapshot, added, modified, removed, expired) of a repository's\n"
    ".muse/coordination/ records as `muse coord watch --json` prints them: the same flags, parsed\n"
    "as argparse parses them; the same fields, with kind as the directory name (reservations,\n"
    "intents, ...); snapshots in Muse's order; expired for reservations only (add\n"
    "--coordd-events for claims). Lines also carry seq, root and, on expired, cause.\n\n"
    "Differences from Muse, on purpose:\n"
    "  - A *.json that is not a JSON object (or too large, or not a regular file) is skipped\n"
    "    with a warning, not shown with data {}; a record that turns invalid keeps its last\n"
    "    good data, so a script never sees a corrupt record as one without addresses.\n"
    "  - modified means the content changed; expiry honours heartbeats and releases.\n"
    "  - Events come from coordd when it watches the repository, else from the same engine\n"
    "    in-process. If coordd restarts the watch reconnects and goes on without repeating or\n"
    "    missing an event; if it stays away 5 s the watch goes on in-process (said on stderr).\n\n"
    "Repository: --root, else $MUSE_REPO_ROOT, else the nearest ancestor of the working\n"
    "directory holding .muse/ (coordd's own default root also falls back to the working\n"
    "directory; coordctl does not).\n\n"
    "Exit status: 0 on --once, --timeout, --max-events, SIGINT or SIGTERM; 1 on a value Muse\n"
    "refuses (e.g. --timeout -1), or when the repository cannot be watched; 2 on a usage error\n"
    "(unknown or ambiguous option, missing or malformed value) or outside a repository.\n\n"
    "Examples:\n"
    "  coordctl watch                    # stream all events until Ctrl-C\n"
    "  coordctl watch --once --json      # current state as NDJSON snapshots, then exit\n"
    "  coordctl watch --kind reservations --run-id agent-42 --timeout 60\n"
    "  coordctl watch --json | jq -c 'select(.event_type == \"expired\")'";

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? "" : std::string(separator)) + part;
  return out;
}

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

ArgparseParser watch_parser() {
  ArgparseParser parser("coordctl watch", kWatchDescription, kDetails);
  // Muse's own options, in Muse's order: abbreviations resolve among these first.
  parser.add_flag({"--once"}, "once", "Emit current state as snapshot events, then exit.", true);
  parser.add_value({"--timeout"}, "timeout", "SECONDS",
                   "Stop watching SECONDS seconds after the snapshot (>= 0). 0 is equivalent "
                   "to --once.",
                   python_float_check(), true);
  parser.add_value({"--max-events"}, "max_events", "N",
                   "Exit after emitting N events (>= 1), snapshot and change events alike.",
                   python_int_check(), true);
  parser.add_value({"--poll-interval"}, "poll_interval", "SECS",
                   "Seconds between scans of the polling fallback, used only standalone where "
                   "inotify cannot watch the repository (default: 1.0; range: [0.01, 3600.0]).",
                   python_float_check(), true);
  parser.add_value({"--run-id"}, "run_id", "RUNID",
                   "Only emit events where data.run_id matches. Maximum 256 characters.", {}, true);
  parser.add_value({"--branch", "-b"}, "branch", "BRANCH",
                   "Only emit events where data.branch matches.", {}, true);
  std::vector<std::string> plural, singular;
  for (Kind kind : kAllKinds) {
    plural.emplace_back(kind_dir(kind));
    singular.emplace_back(kind_name(kind));
  }
  std::sort(plural.begin(), plural.end());
  parser.add_value(
      {"--kind"}, "kind", "KIND",
      "Only emit events for this kind (" + join(plural, " | ") + "; the singular is accepted too).",
      choices_check(plural, singular), true);
  parser.add_flag({"--json", "-j"}, "json", "Emit machine-readable JSON events on stdout.", true);
  // coordctl's additions.
  parser.add_value({"--format", "-f"}, "format", "FORMAT",
                   "Output format: text (default) or json (same as --json).",
                   choices_check({"text", "json"}), false);
  parser.add_flag({"--coordd-events"}, "coordd_events",
                  "Also emit the events coordd adds to Muse's: expired for claims carrying "
                  "expires_at (Muse reports expiry for reservations only).",
                  false);
  parser.add_flag({"--require-daemon"}, "require_daemon",
                  "Fail (exit 1) instead of watching in-process when no coordd serves the "
                  "repository, or when it goes away for more than 5 s.",
                  false);
  parser.add_value({"--root"}, "root", "DIR",
                   "Repository to watch. Default: $MUSE_REPO_ROOT, else the nearest ancestor of "
                   "the working directory holding .muse/ (as Muse finds it; outside one: exit 2).",
                   {}, false);
  parser.add_value({"--socket"}, "socket", "PATH",
                   "coordd's socket. Default: $COORDD_SOCKET, else "
                   "$XDG_RUNTIME_DIR/coordd/coordd.sock, else /tmp/coordd-<uid>/coordd.sock.",
                   {}, false);
  return parser;
}

int run_watch_command(const std::vector<std::string>& argv) {
  ArgparseParser parser = watch_parser();
  ParseResult parsed = parser.parse(argv);
  if (parsed.help_requested) {
    std::fputs(parser.help_text().c_str(), stdout);
    return 0;
  }
  if (parsed.error) {
    std::fputs(parser.error_text(*parsed.error).c_str(), stderr);
    return kArgparseErrorStatus;
  }
  WatchArgs args;
  auto value = [&parsed](std::string_view dest) -> std::optional<std::string> {
    auto found = parsed.values.find(dest);
    if (found == parsed.values.end()) return std::nullopt;
    return found->second.value_or("");
  };
  auto flag = [&parsed](std::string_view dest) { return parsed.flags.contains(dest); };
  args.once = flag("once");
  args.timeout = value("timeout");
  args.max_events = value("max_events");
  args.poll_interval = value("poll_interval").value_or(args.poll_interval);
  args.run_id = value("run_id");
  args.branch = value("branch");
  args.kind = value("kind");
  args.json = flag("json");
  args.format = value("format").value_or(args.format);
  args.coordd_events = flag("coordd_events");
  args.require_daemon = flag("require_daemon");
  args.root = value("root");
  args.socket = value("socket").value_or("");
  return run_watch(args);
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
