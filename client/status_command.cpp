#include "client/status_command.hpp"

#include <boost/json.hpp>
#include <cstdio>

#include "client/daemon_connection.hpp"
#include "client/record_table.hpp"
#include "proto/display.hpp"
#include "proto/socket_path.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

// A reply field as text, found by a dotted path ("journal.events").
std::string get(const json::object& obj, std::string_view path) {
  const json::object* at = &obj;
  for (;;) {
    std::size_t dot = path.find('.');
    auto* value = at->if_contains(path.substr(0, dot));
    if (!value) return "?";
    if (dot == std::string_view::npos) {
      if (value->is_null()) return "-";
      return value->is_string() ? strip_control(value->get_string()) : json::serialize(*value);
    }
    if (!value->is_object()) return "?";
    at = &value->get_object();
    path.remove_prefix(dot + 1);
  }
}

std::string join_strings(const json::object& obj, std::string_view key) {
  auto* value = obj.if_contains(key);
  if (!value || !value->is_array()) return "?";
  std::string out;
  for (const json::value& item : value->get_array()) {
    if (!out.empty()) out += ", ";
    out += item.is_string() ? strip_control(item.get_string()) : json::serialize(item);
  }
  return out.empty() ? "none" : out;
}

std::string records_by_kind(const json::object& status) {
  auto* value = status.if_contains("records");
  if (!value || !value->is_object()) return "";
  std::string out;
  for (const auto& [kind, count] : value->get_object()) {
    if (count.is_number() && count.to_number<double>() == 0) continue;
    out += (out.empty() ? "" : ", ") + strip_control(kind) + " " + json::serialize(count);
  }
  return out.empty() ? "" : " (" + out + ")";
}

std::string uptime(const json::object& status) {
  auto* value = status.if_contains("uptime_s");
  if (!value || !value->is_number()) return "?";
  return format_time_left(std::chrono::seconds(value->to_number<long long>()));
}

// The swarm lines (status.cluster), when the daemon is in one.
std::string cluster_lines(const json::object& status) {
  const json::value* value = status.if_contains("cluster");
  if (!value || !value->is_object()) return "";
  const json::object& c = value->get_object();
  std::string out;
  bool joined = c.if_contains("joined") && c.at("joined") == true;
  bool connected = c.if_contains("connected") && c.at("connected") == true;
  out += "  swarm          " + get(c, "cluster_name") + " as host " + get(c, "host_id") + ": " +
         (joined ? "joined" : "not joined") + ", " +
         (connected ? "connected to " + get(c, "server") : std::string("not connected"));
  if (c.contains("error")) out += " (" + get(c, "error") + ")";
  out += "\n";
  if (const json::value* repos = c.if_contains("repos"); repos && repos->is_array()) {
    for (const json::value& repo : repos->get_array()) {
      if (!repo.is_object()) continue;
      const json::object& r = repo.get_object();
      bool caught_up = r.if_contains("caught_up") && r.at("caught_up") == true;
      bool mirror = r.if_contains("mirror") && r.at("mirror") == true;
      out += "  shared         " + get(r, "root") + " as " + get(r, "repo_id") +
             (mirror ? ", mirrored to disk" : "") +
             (caught_up ? "" : " (still reading the swarm)") + "\n";
    }
  }
  if (const json::value* unshared = c.if_contains("unshared"); unshared && unshared->is_array()) {
    for (const json::value& root : unshared->get_array()) {
      if (!root.is_object()) continue;
      out += "  not shared     " + get(root.get_object(), "root") + ": " +
             get(root.get_object(), "reason") + "\n";
    }
  }
  if (const json::value* origins = c.if_contains("origins"); origins && origins->is_object()) {
    for (const auto& [host, origin] : origins->get_object()) {
      if (!origin.is_object()) continue;
      const json::object& o = origin.get_object();
      out +=
          "  host " + strip_control(host) +
          std::string(host.size() < 10 ? 10 - host.size() : 1, ' ') + get(o, "records") +
          " record(s), last seen " + get(o, "last_seen_ms_ago") + " ms ago, clock skew " +
          get(o, "skew_ms") + " ms" +
          (o.if_contains("stale") && o.at("stale") == true ? ", stale (its coordd is not running)"
                                                           : "") +
          "\n";
    }
  }
  out += "  swarm backlog  " + get(c, "backlog") + " to publish, " + get(c, "in_flight") +
         " in flight; " + get(c, "published") + " published, " + get(c, "publish_failures") +
         " failed (retried), " + get(c, "remote_applied") + " applied, " +
         get(c, "remote_rejected") + " refused\n";
  if (const json::value* m = c.if_contains("messages"); m && m->is_object()) {
    const json::object& messages = m->get_object();
    bool ready = messages.if_contains("ready") && messages.at("ready") == true;
    out += "  swarm messages " +
           (ready ? get(messages, "connected_elsewhere") + " agent(s) connected elsewhere; " +
                        get(messages, "sent") + " sent, " + get(messages, "received") +
                        " received, " + get(messages, "refused") + " refused, " +
                        get(messages, "send_failures") + " failed sends"
                  : std::string("not crossing the swarm") +
                        (messages.if_contains("error") ? " (" + get(messages, "error") + ")"
                                                       : std::string(" yet"))) +
           "\n";
  }
  if (const json::value* m = c.if_contains("mirror"); m && m->is_object()) {
    const json::object& mirror = m->get_object();
    if (get(mirror, "written") != "0" || get(mirror, "conflicts") != "0" ||
        get(mirror, "errors") != "0") {
      out += "  mirror         " + get(mirror, "written") + " written, " + get(mirror, "removed") +
             " removed, " + get(mirror, "conflicts") + " not written (a local file is there), " +
             get(mirror, "errors") + " failed\n";
    }
  }
  return out;
}

}  // namespace

CLI::App* add_status_command(CLI::App& app, StatusArgs& args) {
  CLI::App* sub =
      app.add_subcommand("status", "Show what coordd reports about itself, readable (or --json).");
  sub->footer(
      "Shows version, uptime, watch backend, roots, the swarm (when coordd runs with --cluster:\n"
      "host id, connection, shared roots, other hosts, what waits to be published, messages\n"
      "across hosts), records per kind, active leases, clients and subscriptions, events, bad\n"
      "files skipped, overflows and rescans, journal and limits.\n\n"
      "Examples:\n"
      "  coordctl status\n"
      "  coordctl status --json | jq .active_leases");
  sub->add_flag("-j,--json", args.json, "Print the daemon's status reply as JSON.");
  add_socket_option(sub, args.socket);
  add_timeout_option(sub, args.timeout);
  return sub;
}

std::string format_status(const json::object& s, const std::string& socket) {
  std::string next = get(s, "next_expiry");
  std::string out;
  out += "coordd " + get(s, "version") + " at " + strip_control(socket) + "\n";
  out += "  pid " + get(s, "pid") + ", up " + uptime(s) + ", epoch " + get(s, "epoch") +
         ", protocol " + get(s, "proto") + "\n";
  out += "  backend        " + get(s, "backend") + "\n";
  out += "  roots          " + join_strings(s, "roots") + "\n";
  if (const json::value* roots = s.if_contains("root_backends"); roots && roots->is_array()) {
    for (const json::value& root : roots->get_array()) {
      const json::object* entry = root.if_object();
      if (!entry || !entry->contains("degraded")) continue;
      out += "  degraded       " + get(*entry, "path") + ": " + get(*entry, "degraded") + "\n";
    }
  }
  out += cluster_lines(s);
  out += "  records        " + get(s, "records_total") + records_by_kind(s) + "\n";
  out += "  active leases  " + get(s, "active_leases") +
         (next == "?" ? std::string() : ", next expiry " + next) + "\n";
  out += "  clients        " + get(s, "clients") + " connected (" + get(s, "clients_accepted") +
         " since start), " + get(s, "subscriptions") + " subscription(s)\n";
  out +=
      "  events         " + get(s, "events_emitted") + " emitted, last seq " + get(s, "seq") + "\n";
  out += "  bad files      " + get(s, "bad_files_skipped") + " skip(s), " + get(s, "bad_files") +
         " file(s) currently bad\n";
  out += "  rescans        " + get(s, "rescans") + " (last: " + get(s, "last_rescan_cause") +
         "), " + get(s, "overflows") + " overflow(s)\n";
  out += "  journal        " + get(s, "journal.events") + " event(s), " + get(s, "journal.bytes") +
         " bytes, seq " + get(s, "journal.oldest_seq") + ".." + get(s, "journal.newest_seq") + "\n";
  out += "  limits         frame " + get(s, "limits.max_frame_bytes") + " bytes, queue " +
         get(s, "limits.queue_max_events") + " events / " + get(s, "limits.queue_max_bytes") +
         " bytes, slow-consumer grace " + get(s, "limits.slow_consumer_grace_ms") + " ms\n";
  return out;
}

int run_status(const StatusArgs& args) {
  std::string socket = args.socket.empty() ? default_socket_path() : args.socket;
  std::optional<DaemonConnection> connected =
      connect_daemon_or_explain(socket, reply_timeout(args.timeout));
  if (!connected) return 1;
  DaemonConnection& daemon = *connected;
  json::object request;
  request["op"] = "status";
  json::object reply;
  if (std::string error =
          call_daemon(daemon.client, std::move(request), reply, reply_timeout(args.timeout));
      !error.empty()) {
    std::fprintf(stderr, "❌ status failed: %s\n", strip_control(error).c_str());
    return 1;
  }
  reply.erase("req");  // our own correlation token, not the daemon's news
  if (args.json) {
    std::printf("%s\n", json::serialize(reply).c_str());
  } else {
    std::fputs(format_status(reply, socket).c_str(), stdout);
  }
  return 0;
}

}  // namespace coordd
