#include "client/list_command.hpp"

#include <boost/json.hpp>
#include <cstdio>

#include "client/daemon_connection.hpp"
#include "client/record_table.hpp"
#include "client/repo_root.hpp"
#include "client/watch_options.hpp"
#include "proto/display.hpp"
#include "proto/kind.hpp"
#include "proto/socket_path.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

int fail(const std::string& message) {
  std::fprintf(stderr, "❌ %s\n", strip_control(message).c_str());
  return 1;
}

}  // namespace

CLI::App* add_list_command(CLI::App& app, ListArgs& args) {
  CLI::App* sub = app.add_subcommand(
      "list", "List the current coordination records of a repository, as coordd holds them.");
  sub->footer(
      "Prints kind, full id, run_id@branch, addresses and, for leases (reservations, claims with\n"
      "expires_at), the effective expiry and the time left. Needs a coordd that watches the\n"
      "repository.\n\n"
      "Examples:\n"
      "  coordctl list                                  # every record of this repository\n"
      "  coordctl list --kind reservation --active      # the leases in force now\n"
      "  coordctl list --run-id agent-42 --json | jq '.[].id'");
  sub->add_option_function<std::string>(
         "--kind", [&args](const std::string& v) { args.kind = v; },
         "Only records of this kind: " + valid_kind_names() + " (plural names accepted).")
      ->type_name("KIND");
  sub->add_flag("--active", args.active, "Only leases that are active now.");
  sub->add_option_function<std::string>(
         "--run-id", [&args](const std::string& v) { args.run_id = v; },
         "Only records whose run_id is RUNID.")
      ->type_name("RUNID");
  sub->add_option_function<std::string>(
         "-b,--branch", [&args](const std::string& v) { args.branch = v; },
         "Only records whose branch is BRANCH.")
      ->type_name("BRANCH");
  sub->add_flag("-j,--json", args.json, "Print the records as one JSON array.");
  sub->add_option_function<std::string>(
         "--root", [&args](const std::string& v) { args.root = v; },
         "Repository. Default: the nearest ancestor of the working directory holding .muse/, else "
         "the working directory.")
      ->type_name("DIR");
  add_socket_option(sub, args.socket);
  add_timeout_option(sub, args.timeout);
  return sub;
}

int run_list(const ListArgs& args) {
  std::optional<Kind> kind;
  if (args.kind) {
    kind = parse_kind(*args.kind);
    if (!kind) {
      return fail("--kind must be one of " + valid_kind_names() +
                  " (plural directory names are accepted too), got '" + *args.kind + "'");
    }
  }
  ResolvedRoot root = resolve_root(args.root);
  if (root.not_found) {
    std::fprintf(stderr, "%s\n", kNotAMuseRepository);
    return kRepoNotFoundExit;
  }
  if (!root.error.empty()) return fail(root.error);
  std::string socket = args.socket.empty() ? default_socket_path() : args.socket;

  DaemonConnection daemon = connect_daemon(socket, reply_timeout(args.timeout));
  if (!daemon.ok()) {
    return fail("no coordd answers at " + socket + " (" + daemon.error + "); " +
                start_daemon_hint(root.path, socket));
  }
  if (!daemon.watches_root(root.path)) {
    return fail("coordd at " + socket + " does not watch " + root.path + "; " +
                start_daemon_hint(root.path, socket) +
                ", or use `coordctl watch --once` to read it in-process");
  }
  json::object request;
  request["op"] = "list";
  if (kind) request["kinds"] = json::array{json::string(kind_name(*kind))};
  if (args.run_id && !args.run_id->empty()) request["run_id"] = *args.run_id;
  if (args.branch && !args.branch->empty()) request["branch"] = *args.branch;
  request["root"] = root.path;
  request["active_only"] = args.active;
  json::object reply;
  if (std::string error =
          call_daemon(daemon.client, std::move(request), reply, reply_timeout(args.timeout));
      !error.empty()) {
    return fail("list failed: " + error);
  }
  auto* records = reply.if_contains("records");
  json::array empty;
  const json::array& list = records && records->is_array() ? records->get_array() : empty;
  if (args.json) {
    std::printf("%s\n", json::serialize(list).c_str());
  } else {
    auto now =
        std::chrono::time_point_cast<std::chrono::microseconds>(std::chrono::system_clock::now());
    std::fputs(format_record_table(list, now).c_str(), stdout);
  }
  return 0;
}

}  // namespace coordd
