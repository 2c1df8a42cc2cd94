#include "client/ping_command.hpp"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>

#include "client/daemon_connection.hpp"
#include "proto/display.hpp"
#include "proto/socket_path.hpp"

namespace coordd {
namespace json = boost::json;

CLI::App* add_ping_command(CLI::App& app, PingArgs& args) {
  CLI::App* sub = app.add_subcommand(
      "ping", "Check that coordd answers on its socket; exit 0 if it does, 1 if not.");
  sub->footer(
      "Examples:\n"
      "  coordctl ping\n"
      "  coordctl ping --socket /tmp/demo/coordd.sock || coordd --root . --socket "
      "/tmp/demo/coordd.sock &");
  add_socket_option(sub, args.socket);
  add_timeout_option(sub, args.timeout);
  return sub;
}

int run_ping(const PingArgs& args) {
  std::string socket = args.socket.empty() ? default_socket_path() : args.socket;
  std::optional<DaemonConnection> connected =
      connect_daemon_or_explain(socket, reply_timeout(args.timeout));
  if (!connected) return 1;
  DaemonConnection& daemon = *connected;
  json::object request;
  request["op"] = "ping";
  json::object reply;
  auto sent = std::chrono::steady_clock::now();
  std::string error =
      call_daemon(daemon.client, std::move(request), reply, reply_timeout(args.timeout));
  auto rtt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - sent);
  auto* type = reply.if_contains("type");
  if (error.empty() && !(type && type->is_string() && type->get_string() == "pong")) {
    error = "the reply was not a pong: " + json::serialize(reply);
  }
  if (!error.empty()) {
    std::fprintf(stderr, "❌ ping to coordd at %s failed: %s\n", strip_control(socket).c_str(),
                 strip_control(error).c_str());
    return 1;
  }
  std::printf("pong from %s at %s (epoch %s) in %.2f ms\n",
              strip_control(daemon.hello.server).c_str(), strip_control(socket).c_str(),
              strip_control(daemon.hello.epoch).c_str(), rtt.count());
  return 0;
}

}  // namespace coordd
