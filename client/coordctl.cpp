// coordctl's entry point: the command line of coordd's client. Parses the
// subcommand (watch, list, status, ping, send, broadcast, recv, tap) and runs it. `watch`
// parses its own arguments as argparse parses Muse's (usage errors exit 2);
// the others use CLI11: bad flags exit 1, or 2 for send, broadcast, recv and tap (whose
// 1 means coordd refused the message).
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "client/list_command.hpp"
#include "client/ping_command.hpp"
#include "client/recv_command.hpp"
#include "client/send_command.hpp"
#include "client/status_command.hpp"
#include "client/tap_command.hpp"
#include "client/watch_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "coordctl — the command line of coordd, the coordination daemon for agents sharing a\n"
      "repository. Streams .muse/coordination/ events (a drop-in for `muse coord watch`), lists\n"
      "records, reports the daemon's state, and sends and receives agent messages.",
      "coordctl"};
  app.footer(
      "Examples:\n"
      "  coordctl watch --json                # NDJSON events, as muse coord watch --json\n"
      "  coordctl list --kind reservation --active\n"
      "  coordctl status\n"
      "  coordctl ping\n"
      "  coordctl send --to worker-1 --kind additional_context --field content='use v2'\n"
      "  coordctl recv --agent worker-1 --max 1 --wait 30\n"
      "  coordctl tap --all\n"
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
  coordd::PingArgs ping_args;
  coordd::SendArgs send_args;
  CLI::App* list = coordd::add_list_command(app, list_args);
  CLI::App* status = coordd::add_status_command(app, status_args);
  CLI::App* ping = coordd::add_ping_command(app, ping_args);
  CLI::App* send = coordd::add_send_command(app, send_args);
  CLI::App* broadcast = coordd::add_broadcast_command(app, send_args);
  coordd::RecvArgs recv_args;
  CLI::App* recv = coordd::add_recv_command(app, recv_args);
  coordd::TapArgs tap_args;
  CLI::App* tap = coordd::add_tap_command(app, tap_args);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    if (code == 0) return 0;
    // send and broadcast keep 1 for "coordd refused": a usage error is 2.
    std::string_view command = argc >= 2 ? std::string_view(argv[1]) : "";
    return command == "send" || command == "broadcast" || command == "recv" || command == "tap" ? 2
                                                                                                : 1;
  }

  try {
    if (list->parsed()) return coordd::run_list(list_args);
    if (status->parsed()) return coordd::run_status(status_args);
    if (ping->parsed()) return coordd::run_ping(ping_args);
    if (send->parsed() || broadcast->parsed()) return coordd::run_send(send_args);
    if (recv->parsed()) return coordd::run_recv(recv_args);
    if (tap->parsed()) return coordd::run_tap(tap_args);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "❌ %s\n", e.what());
    return 1;
  }
  return 1;
}
