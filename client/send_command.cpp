#include "client/send_command.hpp"

#include <boost/json.hpp>
#include <cstdio>

#include "client/daemon_connection.hpp"
#include "proto/display.hpp"
#include "proto/socket_path.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

constexpr const char* kFieldHelp =
    "A message field: key=value sets a string, key:=JSON any JSON value (a number, true, an "
    "array, an object). Repeatable; later ones win over --message and earlier ones.";

void add_message_options(CLI::App* sub, SendArgs& args) {
  sub->add_option("-k,--kind", args.kind,
                  "The message kind (e.g. task_assignment, progress_report, task_completed, "
                  "additional_context, or x-your-own); coordd checks its fields.");
  sub->add_option("-f,--field", args.fields, kFieldHelp)->type_name("KEY=VALUE|KEY:=JSON");
  sub->add_option("-m,--message", args.message,
                  "The whole message as a JSON object; --kind and --field are applied on top.")
      ->type_name("JSON");
  sub->add_option("--as", args.as,
                  "Send as this agent (from), without taking its mailbox: another process of "
                  "the agent may hold it. Default: from null. In a swarm the agent's mailbox "
                  "must be on this host (agent_elsewhere otherwise).")
      ->type_name("AGENT");
  sub->add_flag("-j,--json", args.json, "Print coordd's reply line as JSON.");
  add_socket_option(sub, args.socket);
  add_timeout_option(sub, args.timeout);
}

}  // namespace

CLI::App* add_send_command(CLI::App& app, SendArgs& args) {
  CLI::App* sub = app.add_subcommand("send",
                                     "Send one message to an agent's mailbox (from null, or from "
                                     "--as AGENT).");
  sub->add_option("-t,--to", args.to, "The recipient's agent id.")->required();
  add_message_options(sub, args);
  sub->footer(
      "Exit status: 0 sent (the seq is printed), 1 coordd refused it (its error code and text "
      "are printed: not_subscribed, mailbox_full, bad_message, ...) or did not answer within "
      "--timeout, 2 a bad command line.\n\n"
      "Examples:\n"
      "  coordctl send --to worker-1 --kind additional_context --field content='use the v2 API'\n"
      "  coordctl send --to orchestrator --message '{\"kind\":\"x-note\",\"n\":3}' --json\n"
      "  coordctl send --as worker-1 --to orchestrator --kind task_completed \\\n"
      "      --field task_id=t1 --field summary='tests pass'");
  sub->callback([&args] { args.broadcast = false; });
  return sub;
}

CLI::App* add_broadcast_command(CLI::App& app, SendArgs& args) {
  CLI::App* sub =
      app.add_subcommand("broadcast", "Send one message to every connected agent and every tap.");
  add_message_options(sub, args);
  sub->footer(
      "Exit status: 0 sent (the seq and how many connections it reached are printed), 1 coordd "
      "refused it or did not answer within --timeout, 2 a bad command line.\n\n"
      "Examples:\n"
      "  coordctl broadcast --kind additional_context --field content='main is frozen'\n"
      "  coordctl broadcast --kind x-ping --field n:=1 --json");
  sub->callback([&args] { args.broadcast = true; });
  return sub;
}

Result<json::object> message_of(const SendArgs& args) {
  json::object message;
  if (!args.message.empty()) {
    boost::system::error_code ec;
    json::value parsed = json::parse(args.message, ec);
    if (ec || !parsed.is_object()) {
      return Status::error("bad_field", "--message must be a JSON object" +
                                            (ec ? " (" + ec.message() + ")" : std::string()));
    }
    message = std::move(parsed.get_object());
  }
  if (!args.kind.empty()) message["kind"] = args.kind;
  for (const std::string& field : args.fields) {
    std::size_t eq = field.find('=');
    if (eq == std::string::npos || eq == 0 || (eq == 1 && field[0] == ':')) {
      return Status::error("bad_field", "--field '" + field + "' is not KEY=VALUE or KEY:=JSON");
    }
    if (field[eq - 1] == ':') {
      boost::system::error_code ec;
      json::value value = json::parse(std::string_view(field).substr(eq + 1), ec);
      if (ec) {
        return Status::error("bad_field", "--field '" + field + "': the value after := is not " +
                                              "JSON (" + ec.message() + ")");
      }
      message[field.substr(0, eq - 1)] = std::move(value);
    } else {
      message[field.substr(0, eq)] = field.substr(eq + 1);
    }
  }
  if (!message.contains("kind")) {
    return Status::error("bad_field",
                         "the message needs a kind: --kind KIND (or \"kind\" in "
                         "--message)");
  }
  return message;
}

int run_send(const SendArgs& args) {
  Result<json::object> message = message_of(args);
  if (!message.ok()) {
    std::fprintf(stderr, "❌ %s\n", strip_control(message.status().message()).c_str());
    return 2;
  }
  std::string socket = args.socket.empty() ? default_socket_path() : args.socket;
  std::optional<DaemonConnection> connected =
      connect_daemon_or_explain(socket, reply_timeout(args.timeout));
  if (!connected) return 1;
  json::object reply;
  if (!args.as.empty()) {
    json::object hello{{"op", "hello"}, {"agent", args.as}, {"mailbox", false}};
    if (std::string error =
            call_daemon(connected->client, std::move(hello), reply, reply_timeout(args.timeout));
        !error.empty()) {
      std::fprintf(stderr, "❌ cannot send as %s: %s\n", strip_control(args.as).c_str(),
                   strip_control(error).c_str());
      return 1;
    }
  }
  json::object request;
  request["op"] = args.broadcast ? "broadcast" : "send";
  if (!args.broadcast) request["to"] = args.to;
  request["message"] = std::move(*message);
  if (std::string error =
          call_daemon(connected->client, std::move(request), reply, reply_timeout(args.timeout));
      !error.empty()) {
    std::fprintf(stderr, "❌ %s failed: %s\n", args.broadcast ? "broadcast" : "send",
                 strip_control(error).c_str());
    return 1;
  }
  reply.erase("req");  // our own correlation token
  if (args.json) {
    std::printf("%s\n", json::serialize(reply).c_str());
  } else if (args.broadcast) {
    std::printf("broadcast as seq %s to %s connection(s)\n", json::serialize(reply["seq"]).c_str(),
                json::serialize(reply["recipients"]).c_str());
  } else {
    std::printf("sent to %s as seq %s\n", strip_control(args.to).c_str(),
                json::serialize(reply["seq"]).c_str());
  }
  return 0;
}

}  // namespace coordd
