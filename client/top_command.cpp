#include "client/top_command.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>

#include "client/daemon_connection.hpp"
#include "client/stop_signals.hpp"
#include "client/top_feed.hpp"
#include "client/top_json.hpp"
#include "client/top_model.hpp"
#include "client/top_terminal.hpp"
#include "client/top_view.hpp"
#include "proto/display.hpp"
#include "proto/socket_path.hpp"

namespace coordd {

using namespace std::chrono_literals;

namespace {

// At most this many frames a second, and at least one a second (time left).
constexpr auto kMinFrameGap = 250ms;
constexpr auto kMaxFrameGap = 1s;
// status (agents) this often; the leases also after each event that may
// have changed them, and at least this often.
constexpr auto kStatusEvery = 1s;
constexpr auto kLeasesEvery = 5s;
// Reconnection back-off.
constexpr auto kFirstRetry = 100ms;
constexpr auto kLastRetry = 2s;
constexpr const char* kNotAnswering = "coordd not answering — reconnecting";

WallTime wall_now() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
}

int env_size(const char* name, int fallback) {
  const char* value = std::getenv(name);
  if (!value || !*value) return fallback;
  int n = std::atoi(value);
  return n > 0 && n < 10000 ? n : fallback;
}

// stdout is not a terminal, or --json: one snapshot, as text at $COLUMNS ×
// $LINES (80 × 24) or as one JSON line.
int print_snapshot(const std::string& socket, std::chrono::milliseconds timeout, bool json) {
  TopModel model;
  TopFeed feed(socket, model, timeout);
  auto now = TopClock::now();
  std::string error = feed.connect(now);
  if (error.empty()) error = feed.settle(now);
  if (!error.empty()) {
    std::fprintf(stderr, "❌ no coordd answers at %s (%s); %s\n", strip_control(socket).c_str(),
                 strip_control(error).c_str(), start_daemon_hint("DIR", socket).c_str());
    return 1;
  }
  model.set_connected(true);
  if (json) {
    // A snapshot has watched for an instant: too short to have rates.
    std::string line = boost::json::serialize(top_json(model, wall_now(), std::nullopt));
    std::printf("%s\n", line.c_str());
  } else {
    TopScreen screen{env_size("LINES", 24), env_size("COLUMNS", 80)};
    for (const std::string& line : render_top(model, screen, wall_now(), TopClock::now())) {
      std::printf("%s\n", line.c_str());
    }
  }
  return std::fflush(stdout) == 0 ? 0 : 1;
}

int run_live(const std::string& socket, std::chrono::milliseconds timeout) {
  StopSignals::install();
  TopTerminal terminal;
  TopModel model;
  model.set_daemon("coordd", socket);
  TopFeed feed(socket, model, timeout);

  auto retry_gap = TopClock::duration(kFirstRetry);
  auto now = TopClock::now();
  TopClock::time_point next_connect = now, next_status = now, next_leases = now;
  TopClock::time_point last_frame = now - kMaxFrameGap;
  std::uint64_t drawn_version = ~std::uint64_t(0);
  bool leases_dirty = false, resized = true;

  auto lost = [&](const std::string&) {
    feed.close();
    model.set_connected(false, kNotAnswering);
    next_connect = TopClock::now() + retry_gap;
    retry_gap = std::min<TopClock::duration>(retry_gap * 2, kLastRetry);
  };

  while (!StopSignals::requested()) {
    now = TopClock::now();
    if (!feed.connected() && now >= next_connect) {
      if (std::string error = feed.connect(now); error.empty()) {
        model.set_connected(true);
        retry_gap = kFirstRetry;
        next_status = next_leases = now + kStatusEvery;
      } else {
        lost(error);
      }
    }
    if (feed.connected()) {
      std::string error = feed.drain(now, leases_dirty);
      bool want_leases = leases_dirty || now >= next_leases;
      if (error.empty() && (now >= next_status || want_leases)) {
        error = feed.refresh(want_leases);
        next_status = now + kStatusEvery;
        if (want_leases) {
          leases_dirty = false;
          next_leases = now + kLeasesEvery;
        }
        // What arrived while waiting for the replies is set aside: take it now,
        // not at the next wake-up.
        if (error.empty()) error = feed.drain(now, leases_dirty);
      }
      if (!error.empty()) lost(error);
    }
    resized = terminal.take_resize() || resized;
    now = TopClock::now();
    bool changed = model.version() != drawn_version;
    if (resized || (changed && now - last_frame >= kMinFrameGap) ||
        now - last_frame >= kMaxFrameGap) {
      terminal.draw(render_top(model, terminal.size(), wall_now(), now));
      drawn_version = model.version();
      last_frame = now;
      resized = false;
    }

    // Sleep until input, a resize, the next frame that may be due, or a retry.
    auto wake = last_frame + (model.version() != drawn_version ? kMinFrameGap : kMaxFrameGap);
    if (feed.connected()) {
      wake = std::min({wake, next_status, leases_dirty ? last_frame + kMinFrameGap : next_leases});
    } else {
      wake = std::min(wake, next_connect);
    }
    pollfd fds[3] = {{terminal.resize_fd(), POLLIN, 0},
                     {terminal.key_fd(), POLLIN, 0},
                     {feed.connected() ? feed.fd() : -1, POLLIN, 0}};
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - TopClock::now());
    ::poll(fds, 3, int(std::clamp<long long>(wait.count() + 1, 0, 1000)));
    if ((fds[1].revents & POLLIN) && terminal.quit_key()) break;
  }
  return 0;
}

}  // namespace

CLI::App* add_top_command(CLI::App& app, TopArgs& args) {
  CLI::App* sub = app.add_subcommand(
      "top", "A live view of coordd for people: agents, leases, latest events and messages.");
  sub->footer(
      "Shows the agents (connected or away, with the messages waiting for each), the active\n"
      "leases by agent with the time left, the latest events and messages, and the rates of\n"
      "events and messages (over 10 s and the last minute). Redraws in place, at most 4 times a\n"
      "second; uses the whole terminal, however large. While coordd does not answer it says\n"
      "so and reconnects. q or Ctrl-C quits. When stdout is not a terminal, prints one\n"
      "snapshot ($COLUMNS x $LINES, default 80 x 24) and exits.\n\n"
      "--json prints one snapshot (terminal or not) as one JSON object on one line:\n"
      "  server, socket, taken_at (the snapshot's time), last_seq (the newest line seen);\n"
      "  agents: [{name, state: connected, away or unknown (only seen in messages),\n"
      "    waiting: messages waiting, null when unknown}];\n"
      "  leases, by run_id then expiry: [{run_id (\"?\" when none), kind, id, addresses\n"
      "    (as the record has them, null when absent), expires_at, seconds_left (whole\n"
      "    seconds; both null when unknown)}];\n"
      "  events, newest first: [{seq, timestamp, event_type, kind, id, run_id (when the\n"
      "    record has one)}]; messages, newest first: [{seq, timestamp, from, to, kind,\n"
      "    summary (what the view shows after the kind, null when nothing)}];\n"
      "  rates: null, as one snapshot is too short to measure them (the live view counts\n"
      "    the events and messages of the last 10 s and minute as they arrive).\n"
      "  Strings are as coordd sent them, control characters escaped.\n\n"
      "Examples:\n"
      "  coordctl top\n"
      "  coordctl top --socket /tmp/coordd-test.sock\n"
      "  coordctl top | cat                   # one snapshot\n"
      "  coordctl top --json | python3 -m json.tool\n\n"
      "Exit status: 0 when quit (q, Ctrl-C, SIGTERM) or once the snapshot (text or --json)\n"
      "is printed; 1 when the snapshot cannot be taken (no coordd answers), the terminal\n"
      "cannot be set up, or a flag is wrong.");
  add_socket_option(sub, args.socket);
  sub->add_flag("-j,--json", args.json,
                "Print one snapshot as a JSON object on one line and exit, even on a terminal "
                "(fields below).");
  sub->add_option("--timeout", args.timeout,
                  "Seconds to wait for each reply (default 10). A snapshot without a reply "
                  "exits 1; the live view waits at most 2 s, then says coordd is not answering "
                  "and reconnects.")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.001, 86400.0));
  return sub;
}

int run_top(const TopArgs& args) {
  std::string socket = args.socket.empty() ? default_socket_path() : args.socket;
  if (args.json || !::isatty(STDOUT_FILENO)) {
    return print_snapshot(socket, reply_timeout(args.timeout), args.json);
  }
  // A view must keep answering keys: a coordd that hangs is given 2 s a reply.
  return run_live(socket, std::min<std::chrono::milliseconds>(reply_timeout(args.timeout), 2s));
}

}  // namespace coordd
