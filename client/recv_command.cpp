#include "client/recv_command.hpp"

#include <boost/json.hpp>
#include <cstdio>

#include "client/daemon_connection.hpp"
#include "client/json_fields.hpp"
#include "client/message_text.hpp"
#include "client/stop_signals.hpp"
#include "proto/display.hpp"
#include "proto/socket_path.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

int fail(const std::string& why) {
  std::fprintf(stderr, "❌ recv: %s\n", strip_control(why).c_str());
  return 1;
}

}  // namespace

CLI::App* add_recv_command(CLI::App& app, RecvArgs& args) {
  CLI::App* sub = app.add_subcommand(
      "recv",
      "Print an agent's waiting messages and ack exactly those printed (acknowledged delivery: "
      "what is not printed comes again at the next recv).");
  sub->add_option("-a,--agent", args.agent, "The agent whose mailbox to read.")->required();
  sub->add_option("-n,--max", args.max,
                  "At most N messages (the rest stay waiting, in order). Default: every "
                  "waiting message.")
      ->check(CLI::Range(std::size_t(1), std::size_t(65536)));
  sub->add_option("-w,--wait", args.wait,
                  "When no message waits, wait this many seconds for one to arrive (default 0: "
                  "return at once).")
      ->check(CLI::Range(0.0, 86400.0));
  sub->add_flag("-j,--json", args.json, "Print each message line as coordd sent it (NDJSON).");
  sub->add_flag("--takeover", args.takeover,
                "Take the mailbox from another connection holding it (that one gets "
                "taken_over); its unacked messages come here first.");
  add_socket_option(sub, args.socket);
  add_timeout_option(sub, args.timeout);
  sub->footer(
      "Exit status: 0 printed at least one message (and acked it), 3 none came within --wait, "
      "1 an error (no coordd, the mailbox held by another connection: agent_taken, an ack that "
      "did not reach coordd: the messages come again), 2 a bad command line, 130 interrupted.\n"
      "The mailbox is kept for --mailbox-ttl after recv exits, so messages sent between two "
      "recv calls wait for the next one.\n\n"
      "Examples:\n"
      "  coordctl recv --agent worker-1                 # what waits, then exit\n"
      "  coordctl recv --agent worker-1 --max 1 --wait 30 --json\n"
      "  while coordctl recv -a worker-1 -n 1 -w 60 -j > msg.json; do handle msg.json; done");
  return sub;
}

int run_recv(const RecvArgs& args) {
  StopSignals::install();
  std::string socket = args.socket.empty() ? default_socket_path() : args.socket;
  std::optional<DaemonConnection> connected =
      connect_daemon_or_explain(socket, reply_timeout(args.timeout));
  if (!connected) return 1;
  CoordClient& client = connected->client;
  StopSignals::shut_down_on_stop(client.fd());

  json::object hello{{"op", "hello"}, {"agent", args.agent}, {"ack", true}};
  if (args.max) hello["credit"] = args.max;
  if (args.takeover) hello["takeover"] = true;
  json::object reply;
  if (std::string error = call_daemon(client, std::move(hello), reply, reply_timeout(args.timeout));
      !error.empty()) {
    if (StopSignals::requested()) return 130;
    return fail("cannot take agent " + args.agent + "'s mailbox: " + error +
                (error.find("agent_taken") != std::string::npos
                     ? " (another connection holds it; --takeover replaces it)"
                     : ""));
  }
  std::size_t waiting = uint_field(reply, "waiting");
  std::size_t want = waiting;
  if (args.max) want = std::min(want, args.max);
  CoordClient::Deadline deadline;
  if (want == 0) {
    if (args.wait <= 0) return kRecvNothing;
    want = 1;
    deadline = deadline_in(std::chrono::milliseconds(std::int64_t(args.wait * 1000)));
  } else {
    deadline = deadline_in(reply_timeout(args.timeout));  // they are on their way
  }

  std::size_t shown = 0;
  std::uint64_t last = 0;  // the newest targeted message printed
  while (shown < want) {
    std::string text;
    CoordClient::Status status = client.read_line(text, deadline);
    if (status == CoordClient::Status::kTimeout && shown == 0 && waiting == 0) {
      return kRecvNothing;
    }
    if (StopSignals::requested()) return 130;
    if (status != CoordClient::Status::kOk) {
      if (shown == 0) {
        return fail(status == CoordClient::Status::kTimeout
                        ? "coordd said " + std::to_string(waiting) +
                              " message(s) wait but sent none in time"
                        : "the connection to coordd ended: " + client.error());
      }
      break;  // ack what was printed
    }
    boost::system::error_code ec;
    json::value parsed = json::parse(text, ec);
    if (ec || !parsed.is_object()) return fail("coordd sent a line that is not JSON: " + text);
    const json::object& line = parsed.get_object();
    const json::value* type = line.if_contains("type");
    std::string_view kind = type && type->is_string() ? std::string_view(type->get_string()) : "";
    if (kind == "lagged") {
      std::fprintf(stderr, "⚠️  %s broadcast(s) for %s were dropped: its mailbox was full\n",
                   json::serialize(line.contains("dropped") ? line.at("dropped") : nullptr).c_str(),
                   strip_control(args.agent).c_str());
      continue;
    }
    if (kind == "error") {
      return fail("coordd: " + json::serialize(line));  // taken_over and the like: final
    }
    if (kind != "message" || line.contains("sub")) continue;
    if (args.json) {
      std::printf("%s\n", text.c_str());
    } else {
      std::printf("%s\n", message_text(line).c_str());
    }
    ++shown;
    const json::value* to = line.if_contains("to");
    bool broadcast = to && to->is_string() && to->get_string() == "*";
    if (!broadcast) last = std::max(last, uint_field(line, "seq"));  // broadcasts take no ack
  }
  if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
    return fail("cannot write the messages to stdout; not acked: they come again");
  }
  if (last == 0) return 0;  // only broadcasts: nothing to ack
  json::object acked;
  if (std::string error =
          call_daemon(client, {{"op", "ack"}, {"upto", last}}, acked, reply_timeout(args.timeout));
      !error.empty()) {
    return fail("the ack did not reach coordd (" + error +
                "): the messages printed come again at the next recv");
  }
  return 0;
}

}  // namespace coordd
