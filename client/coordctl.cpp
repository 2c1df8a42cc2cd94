// coordctl's entry point: the command line of coordd's client. Parses the
// subcommand (watch, list, status, top, ping, send, broadcast, recv, tap,
// reserve, heartbeat, release) and runs it. `watch` parses its own arguments as
// argparse parses Muse's (usage errors exit 2); the others use CLI11: bad
// flags exit 1, or 2 for the commands whose 1 means coordd refused (send,
// broadcast, recv, tap) or the record could not be written (reserve,
// heartbeat, release).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "client/heartbeat_command.hpp"
#include "client/list_command.hpp"
#include "client/ping_command.hpp"
#include "client/recv_command.hpp"
#include "client/release_command.hpp"
#include "client/reserve_command.hpp"
#include "client/send_command.hpp"
#include "client/status_command.hpp"
#include "client/tap_command.hpp"
#include "client/top_command.hpp"
#include "client/watch_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "coordctl — the command line of coordd, the coordination daemon for agents sharing a\n"
      "repository. Streams .muse/coordination/ events (a drop-in for `muse coord watch`), lists\n"
      "records, reports the daemon's state, sends and receives agent messages, and writes\n"
      "reservations, heartbeats and releases as Muse does.",
      "coordctl"};
  app.footer(
      "Examples:\n"
      "  coordctl watch --json                # NDJSON events, as muse coord watch --json\n"
      "  coordctl list --kind reservation --active\n"
      "  coordctl status\n"
      "  coordctl top                         # live view: agents, leases, events, messages\n"
      "  coordctl ping\n"
      "  coordctl send --to worker-1 --kind additional_context --field content='use v2'\n"
      "  coordctl recv --agent worker-1 --max 1 --wait 30\n"
      "  coordctl tap --all\n"
      "  id=$(coordctl reserve src/billing.py::compute_total --run-id agent-42 --ttl 600)\n"
      "  coordctl heartbeat \"$id\" --extend 600 && coordctl release \"$id\"\n"
      "Run `coordctl <command> --help` for a command's flags.");
  app.set_version_flag("--version", std::string("coordctl ") + COORDD_VERSION);
  app.require_subcommand(1);

  // The standalone engine logs through spdlog: warnings only, and never on
  // stdout, which carries the events.
  auto logger = spdlog::stderr_color_mt("coordctl");
  logger->set_pattern("coordctl: %l: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::warn);

  // Listed by `coordctl --help`; its arguments never reach CLI11.
  app.add_subcommand("watch", coordd::kWatchDescription);
  if (argc >= 2 && std::string_view(argv[1]) == "watch") {
    try {
      return coordd::run_watch_command(std::vector<std::string>(argv + 2, argv + argc));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "❌ %s\n", e.what());
      return 1;
    }
  }

  coordd::ListArgs list_args;
  coordd::StatusArgs status_args;
  coordd::TopArgs top_args;
  coordd::PingArgs ping_args;
  coordd::SendArgs send_args;
  coordd::ReserveArgs reserve_args;
  coordd::HeartbeatArgs heartbeat_args;
  coordd::ReleaseArgs release_args;
  CLI::App* list = coordd::add_list_command(app, list_args);
  CLI::App* status = coordd::add_status_command(app, status_args);
  CLI::App* top = coordd::add_top_command(app, top_args);
  CLI::App* ping = coordd::add_ping_command(app, ping_args);
  CLI::App* send = coordd::add_send_command(app, send_args);
  CLI::App* broadcast = coordd::add_broadcast_command(app, send_args);
  coordd::RecvArgs recv_args;
  CLI::App* recv = coordd::add_recv_command(app, recv_args);
  coordd::TapArgs tap_args;
  CLI::App* tap = coordd::add_tap_command(app, tap_args);
  CLI::App* reserve = coordd::add_reserve_command(app, reserve_args);
  CLI::App* heartbeat = coordd::add_heartbeat_command(app, heartbeat_args);
  CLI::App* release = coordd::add_release_command(app, release_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    if (code == 0) return 0;
    // send, broadcast, recv and tap keep 1 for "coordd refused", and the writing
    // commands for "not written": a usage error is 2.
    std::string_view command = argc >= 2 ? std::string_view(argv[1]) : "";
    for (std::string_view two :
         {"send", "broadcast", "recv", "tap", "reserve", "heartbeat", "release"}) {
      if (command == two) return 2;
    }
    return 1;
  }

  try {
    if (list->parsed()) return coordd::run_list(list_args);
    if (status->parsed()) return coordd::run_status(status_args);
    if (top->parsed()) return coordd::run_top(top_args);
    if (ping->parsed()) return coordd::run_ping(ping_args);
    if (send->parsed() || broadcast->parsed()) return coordd::run_send(send_args);
    if (recv->parsed()) return coordd::run_recv(recv_args);
    if (tap->parsed()) return coordd::run_tap(tap_args);
    if (reserve->parsed()) return coordd::run_reserve(reserve_args);
    if (heartbeat->parsed()) return coordd::run_heartbeat(heartbeat_args);
    if (release->parsed()) return coordd::run_release(release_args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "❌ %s\n", e.what());
    return 1;
  }
  return 1;
}
