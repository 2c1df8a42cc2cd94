#include "tests/soak/messaging_agent.hpp"

#include "tests/soak/soak_fixture.hpp"

namespace coordd::soak {
namespace {

constexpr auto kReplyTimeout = 5s;

std::string code_of(const json::object& line) {
  const json::value* code = line.if_contains("code");
  return code && code->is_string() ? std::string(code->get_string()) : std::string();
}

std::uint64_t number(const json::object& line, std::string_view key) {
  const json::value* value = line.if_contains(key);
  return value && value->is_number() ? value->to_number<std::uint64_t>() : 0;
}

}  // namespace

MessagingAgent::MessagingAgent(fs::path socket, AgentPlan plan)
    : socket_(std::move(socket)), plan_(std::move(plan)), random_(plan_.seed) {}

bool MessagingAgent::fail(std::string why) {
  if (error_.empty()) error_ = "agent " + plan_.agent + ": " + std::move(why);
  return false;
}

bool MessagingAgent::connect() {
  // A fresh client: a closed one keeps the old connection's half-read bytes.
  client_ = CoordClient();
  last_seq_ = 0;
  owed_.merge(unacked_);  // left unacked: they come again on this connection
  unacked_.clear();
  if (!client_.connect(socket_.string())) return fail(client_.error());
  // takeover: coordd may not have noticed yet that our previous connection closed.
  json::object hello{{"op", "hello"}, {"agent", plan_.agent}, {"takeover", true}};
  if (plan_.ack) hello["ack"] = true;
  auto reply = request(std::move(hello));
  if (!reply) return false;
  if (reply->at("type") != "hello") return fail("hello refused: " + json::serialize(*reply));
  return true;
}

bool MessagingAgent::take(const std::string& text, json::object& line) {
  boost::system::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) return fail("coordd sent a line that is not an object: " + text);
  line = std::move(parsed.get_object());
  const json::value& type = line.at("type");
  if (type == "message") {
    std::uint64_t seq = number(line, "seq");
    if (seq <= last_seq_) {
      return fail("message seq " + std::to_string(seq) + " arrived after seq " +
                  std::to_string(last_seq_) + ": " + text);
    }
    const json::value& to = line.at("to");
    if (to != "*" && to != json::string_view(plan_.agent)) {
      return fail("a message for someone else reached this mailbox: " + text);
    }
    last_seq_ = seq;
    ++counts_.received;
    if (plan_.ack && to != "*") {
      bool again = line.contains("redelivered");
      if (seq <= acked_upto_) return fail("a message acked before came again: " + text);
      // (One marked may be new to us: written to a connection we left before
      // reading it.)
      if (!again && (unacked_.contains(seq) || owed_.contains(seq))) {
        return fail("a message delivered twice without the redelivered mark: " + text);
      }
      owed_.erase(seq);
      counts_.redelivered += again;
      unacked_.insert(seq);
    }
  } else if (type == "lagged") {
    std::uint64_t from = number(line, "from_seq"), to = number(line, "to_seq");
    if (from <= last_seq_ || to < from) {
      return fail("a mailbox lag marker over seqs already delivered (after " +
                  std::to_string(last_seq_) + "): " + text);
    }
    last_seq_ = to;
    ++counts_.lag_markers;
  }
  return true;
}

std::optional<json::object> MessagingAgent::request(json::object request) {
  auto deadline = SteadyClock::now() + kReplyTimeout;
  std::string req = plan_.agent + "-" + std::to_string(next_req_++);
  request["req"] = req;
  if (client_.send(request, deadline) != CoordClient::Status::kOk) {
    fail("cannot send " + json::serialize(request) + ": " + client_.error());
    return std::nullopt;
  }
  for (;;) {
    std::string text;
    CoordClient::Status status = client_.read_line(text, deadline);
    if (status == CoordClient::Status::kInterrupted) continue;
    if (status != CoordClient::Status::kOk) {
      fail("no reply to " + json::serialize(request) +
           (status == CoordClient::Status::kTimeout ? ": timed out" : ": " + client_.error()));
      return std::nullopt;
    }
    json::object line;
    if (!take(text, line)) return std::nullopt;
    if (const json::value* got = line.if_contains("req"); got && *got == json::string_view(req)) {
      return line;
    }
  }
}

bool MessagingAgent::ack_read() {
  if (!plan_.ack || unacked_.empty()) return true;
  std::uint64_t upto = *unacked_.rbegin();
  std::optional<json::object> reply = request({{"op", "ack"}, {"upto", upto}});
  if (!reply) return false;
  if (reply->at("type") != "acked") return fail("ack refused: " + json::serialize(*reply));
  unacked_.clear();
  acked_upto_ = upto;
  return true;
}

bool MessagingAgent::send_one() {
  std::uint64_t n = next_message_++;
  bool broadcast = random_() % 100 < plan_.broadcast_percent;
  json::object out;
  if (broadcast) {
    out = {{"op", "broadcast"},
           {"message", {{"kind", "x-soak-broadcast"}, {"n", n}, {"origin", plan_.agent}}}};
  } else {
    const std::string& to = plan_.peers[random_() % plan_.peers.size()];
    json::object message =
        n % 2 == 0 ? json::object{{"kind", "progress_report"}, {"turn", n}, {"summary", "soak"}}
                   : json::object{{"kind", "additional_context"},
                                  {"content", "soak message " + std::to_string(n)}};
    out = {{"op", "send"}, {"to", to}, {"message", std::move(message)}};
  }
  std::optional<json::object> reply = request(out);
  if (!reply) return false;
  if (reply->at("type") == "sent") {
    ++(broadcast ? counts_.broadcasts : counts_.sent);
    return true;
  }
  if (code_of(*reply) == "mailbox_full") {
    ++counts_.mailbox_full;  // back-pressure, as promised: nothing was dropped silently
    return true;
  }
  return fail(json::serialize(out) + " was refused: " + json::serialize(*reply));
}

bool MessagingAgent::read_until(SteadyClock::time_point until) {
  for (;;) {
    std::string text;
    CoordClient::Status status = client_.read_line(text, until);
    if (status == CoordClient::Status::kInterrupted) continue;
    if (status == CoordClient::Status::kTimeout) return true;
    if (status != CoordClient::Status::kOk) return fail("reading: " + client_.error());
    json::object line;
    if (!take(text, line)) return false;
  }
}

std::string MessagingAgent::run(std::stop_token stop) {
  auto period = std::chrono::duration_cast<SteadyClock::duration>(
      std::chrono::duration<double>(1.0 / plan_.sends_per_second));
  auto next = SteadyClock::now();
  while (!stop.stop_requested() && error_.empty()) {
    if (random_() % 100 < plan_.reconnect_percent) {
      ++counts_.reconnects;
      if (!connect()) break;
    }
    if (!ack_read() || !send_one()) break;
    next += period;
    if (auto now = SteadyClock::now(); next < now - 1s) next = now;
    // Reading until the next send is this agent's pacing.
    if (!read_until(next)) break;
  }
  return error_;
}

}  // namespace coordd::soak
