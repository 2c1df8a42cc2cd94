#include "client/daemon_connection.hpp"

#include <boost/json.hpp>
#include <cmath>
#include <cstdio>

#include "proto/display.hpp"
#include "proto/socket_path.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

// 10000 ms as "10", 300 ms as "0.3".
std::string python_seconds(std::chrono::milliseconds timeout) {
  std::string text = std::to_string(timeout.count() / 1000);
  if (long long rest = timeout.count() % 1000; rest != 0) {
    std::string fraction = std::to_string(1000 + rest).substr(1);
    while (fraction.back() == '0') fraction.pop_back();
    text += "." + fraction;
  }
  return text;
}

}  // namespace

bool DaemonConnection::watches_root(std::string_view root) const {
  for (const std::string& watched : hello.roots) {
    if (watched == root) return true;
  }
  return false;
}

DaemonConnection connect_daemon(const std::string& socket_path, std::chrono::milliseconds timeout) {
  DaemonConnection out;
  if (!out.client.connect(socket_path)) {
    out.no_daemon = out.client.no_daemon();
    out.error = out.client.error();
    return out;
  }
  json::object request;
  request["op"] = "hello";
  request["proto"] = 1;
  request["client"] = std::string("coordctl/") + COORDD_VERSION;
  json::object reply;
  out.error = call_daemon(out.client, std::move(request), reply, timeout);
  if (!out.ok()) {
    out.error = "coordd at " + socket_path + " did not greet us: " + out.error;
    return out;
  }
  if (auto* server = reply.if_contains("server"); server && server->is_string()) {
    out.hello.server = server->get_string();
  }
  if (auto* epoch = reply.if_contains("epoch"); epoch && epoch->is_string()) {
    out.hello.epoch = epoch->get_string();
  }
  if (auto* roots = reply.if_contains("roots"); roots && roots->is_array()) {
    for (const json::value& root : roots->get_array()) {
      if (root.is_string()) out.hello.roots.emplace_back(root.get_string());
    }
  }
  return out;
}

std::string call_daemon(CoordClient& client, json::object request, json::object& reply,
                        std::chrono::milliseconds timeout) {
  switch (client.call(std::move(request), reply, deadline_in(timeout))) {
    case CoordClient::Status::kOk:
      break;
    case CoordClient::Status::kTimeout:
      return "no reply within " + python_seconds(timeout) +
             " s (is coordd stopped or overloaded? --timeout waits longer)";
    case CoordClient::Status::kClosed:
      return "coordd closed the connection";
    case CoordClient::Status::kInterrupted:
      return "interrupted";
    case CoordClient::Status::kError:
      return client.error();
  }
  auto* type = reply.if_contains("type");
  if (type && type->is_string() && type->get_string() == "error") {
    auto text = [&reply](std::string_view key) {
      auto* value = reply.if_contains(key);
      return value && value->is_string() ? std::string(value->get_string()) : std::string("?");
    };
    return "coordd refused the request (" + text("code") + "): " + text("message");
  }
  return "";
}

namespace {

// `text` as one shell word: bare when that is safe, else in single quotes.
std::string shell_word(const std::string& text) {
  bool safe = !text.empty() && text.find_first_not_of(
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789_-./:@%+=,") == std::string::npos;
  if (safe) return text;
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string start_daemon_hint(const std::string& root, const std::string& socket_path) {
  std::string command = "coordd --root " + shell_word(root);
  if (socket_path != default_socket_path()) command += " --socket " + shell_word(socket_path);
  return "start one with `" + command +
         " &` (or `systemctl --user start coordd` where its user unit is installed)";
}

std::optional<DaemonConnection> connect_daemon_or_explain(const std::string& socket_path,
                                                          std::chrono::milliseconds timeout) {
  DaemonConnection daemon = connect_daemon(socket_path, timeout);
  if (daemon.ok()) return daemon;
  std::fprintf(stderr, "❌ no coordd answers at %s (%s); %s\n", strip_control(socket_path).c_str(),
               strip_control(daemon.error).c_str(), start_daemon_hint("DIR", socket_path).c_str());
  return std::nullopt;
}

void add_socket_option(CLI::App* command, std::string& socket) {
  command
      ->add_option("--socket", socket,
                   "coordd's socket. Default: $COORDD_SOCKET, else "
                   "$XDG_RUNTIME_DIR/coordd/coordd.sock, else /tmp/coordd-<uid>/coordd.sock.")
      ->type_name("PATH");
}

void add_timeout_option(CLI::App* command, double& seconds) {
  command
      ->add_option("--timeout", seconds,
                   "Seconds to wait for each reply before giving up with exit 1 (default 10), "
                   "so a stopped or overloaded coordd gives an error, not a hang.")
      ->type_name("SECONDS")
      ->check(CLI::Range(0.001, 86400.0));
}

std::chrono::milliseconds reply_timeout(double seconds) {
  return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

}  // namespace coordd
