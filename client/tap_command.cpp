#include "client/tap_command.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <thread>

#include "client/daemon_connection.hpp"
#include "client/json_fields.hpp"
#include "client/message_text.hpp"
#include "client/stop_signals.hpp"
#include "proto/display.hpp"
#include "proto/socket_path.hpp"

namespace coordd {
namespace json = boost::json;

namespace {

// One tap subscription's stream, resumable: where it has got to.
class Tap {
 public:
  explicit Tap(const TapArgs& args)
      : args_(args), socket_(args.socket.empty() ? default_socket_path() : args.socket) {}

  // Connects and subscribes (from where the last stream stopped, when
  // there was one). "" or why not.
  std::string open() {
    daemon_ = connect_daemon(socket_, reply_timeout(args_.timeout));
    if (!daemon_.ok()) return daemon_.error;
    StopSignals::shut_down_on_stop(daemon_.client.fd());
    return subscribe();
  }

  // Streams until the connection ends (false) or the tap is done (true).
  bool stream() {
    for (;;) {
      std::string text;
      CoordClient::Status status = daemon_.client.read_line(text, std::nullopt);
      if (StopSignals::requested()) return true;
      if (status != CoordClient::Status::kOk) return false;
      boost::system::error_code ec;
      json::value parsed = json::parse(text, ec);
      if (ec || !parsed.is_object()) continue;
      const json::object& line = parsed.get_object();
      std::string type = string_field(line, "type");
      if (type == "message" && uint_field(line, "sub") == sub_) {
        last_seq_ = std::max(last_seq_, uint_field(line, "seq"));
        if (args_.json) {
          std::printf("%s\n", text.c_str());
        } else {
          std::printf("%s\n", message_text(line).c_str());
        }
        std::fflush(stdout);
        if (args_.count && ++shown_ >= args_.count) return true;
      } else if (type == "lagged" && uint_field(line, "sub") == sub_) {
        // Fell behind: read the gap again from the journal.
        std::uint64_t from = uint_field(line, "from_seq");
        last_seq_ = from > 0 ? from - 1 : 0;
        json::object reply;
        call_daemon(daemon_.client, {{"op", "unsubscribe"}, {"sub", sub_}}, reply,
                    reply_timeout(args_.timeout));
        if (!subscribe().empty()) return false;
      } else if (type == "snapshot_end" && uint_field(line, "sub") == sub_) {
        last_seq_ = std::max(last_seq_, uint_field(line, "seq"));
      }
    }
  }

 private:
  std::string subscribe() {
    json::object request{{"op", "subscribe"},
                         {"events", false},
                         {"snapshot", false},
                         {"messages", args_.all ? "all" : "broadcast"}};
    if (!args_.agents.empty()) {
      json::array agents;
      for (const std::string& agent : args_.agents) agents.emplace_back(agent);
      request["agents"] = std::move(agents);
    }
    bool resuming = !epoch_.empty();
    if (resuming) request["since"] = {{"epoch", epoch_}, {"seq", last_seq_}};
    json::object reply;
    if (std::string error =
            call_daemon(daemon_.client, std::move(request), reply, reply_timeout(args_.timeout));
        !error.empty()) {
      return error;
    }
    sub_ = uint_field(reply, "sub");
    if (resuming && reply.contains("resumed") && !reply.at("resumed").as_bool()) {
      std::fprintf(
          stderr, "⚠️  coordd %s: messages after seq %llu of the earlier run were not seen\n",
          string_field(reply, "reason") == "epoch_changed" ? "restarted" : "no longer holds them",
          static_cast<unsigned long long>(last_seq_));
    }
    if (!resuming || string_field(reply, "reason") == "epoch_changed")
      last_seq_ = uint_field(reply, "seq");
    epoch_ = daemon_.hello.epoch;
    return "";
  }

  const TapArgs& args_;
  std::string socket_;
  DaemonConnection daemon_;
  std::uint64_t sub_ = 0;
  std::string epoch_;  // of the run streamed from ("" before the first)
  std::uint64_t last_seq_ = 0;
  std::size_t shown_ = 0;
};

}  // namespace

CLI::App* add_tap_command(CLI::App& app, TapArgs& args) {
  CLI::App* sub = app.add_subcommand(
      "tap", "Stream agent messages as they are sent: broadcasts, or with --all every message.");
  sub->add_flag("--all", args.all, "Every message, targeted ones between others included.");
  sub->add_option("-a,--agent", args.agents,
                  "Only messages from or to this agent (repeatable: any of them).");
  sub->add_flag("-j,--json", args.json, "Print each message line as coordd sent it (NDJSON).");
  sub->add_option("-c,--count", args.count, "Stop after N messages (default: run until stopped).");
  add_socket_option(sub, args.socket);
  add_timeout_option(sub, args.timeout);
  sub->footer(
      "It keeps running across coordd restarts (reconnecting, and resuming where it stopped "
      "while coordd runs on) and re-reads what it fell behind on.\n"
      "Exit status: 0 stopped by SIGINT/SIGTERM or after --count messages, 1 no coordd "
      "answers at start, 2 a bad command line.\n\n"
      "Examples:\n"
      "  coordctl tap --all                       # the whole conversation, readable\n"
      "  coordctl tap --all --agent orchestrator --json | jq .message.kind");
  return sub;
}

int run_tap(const TapArgs& args) {
  StopSignals::install();
  Tap tap(args);
  if (std::string error = tap.open(); !error.empty()) {
    std::fprintf(stderr, "❌ tap: %s\n", strip_control(error).c_str());
    return 1;
  }
  auto backoff = std::chrono::milliseconds(25);
  for (;;) {
    if (tap.stream()) return 0;
    std::fprintf(stderr, "⚠️  lost coordd; reconnecting\n");
    for (;;) {
      if (StopSignals::requested()) return 0;
      std::this_thread::sleep_for(backoff);
      if (StopSignals::requested()) return 0;
      if (tap.open().empty()) break;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
    }
    backoff = std::chrono::milliseconds(25);
  }
}

}  // namespace coordd
