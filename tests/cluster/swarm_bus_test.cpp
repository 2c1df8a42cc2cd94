// The agent message bus across a swarm: agents said hello on different
// coordd of the Swarm fixture (a, b, c; cluster "swarmtest") send to each
// other, broadcast and tap, through the swarm's NATS JetStream message stream
// (COORD_swarmtest_MSG). Agent names are unique swarm-wide, a mailbox follows
// its agent from host to host and outlives its host's coordd, and the stream
// losing its leader or a host losing NATS loses or repeats nothing that was
// `sent`. A message put on NATS by something other than a coordd, naming a
// sender that is not on the host it claims, is refused.
//
// The swarm learns of a hello, or of a disconnect, asynchronously: the first
// send to an agent that just said hello on another host retries while it is
// not_subscribed, and a hello of an agent that just left another host retries
// while it is agent_taken, each within a deadline (send_when_known,
// hello_on). Everything after that is asserted at once. Before its first
// hello each test waits until every node says its message layer is up
// (wait_messages_ready).
#include <doctest/doctest.h>

#include <atomic>
#include <latch>
#include <set>
#include <thread>

#include "tests/bus/bus_fixture.hpp"
#include "tests/cluster/loopback_client.hpp"
#include "tests/cluster/swarm_fixture.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::swarm {
namespace {

constexpr std::string_view kMessageStream = "COORD_swarmtest_MSG";
// A delivery to another host may wait for its mailbox consumer to be made (a
// replicated consumer: seconds on a loaded 2-core machine running other suites).
constexpr std::chrono::milliseconds kAcrossHosts = std::chrono::seconds(15);

std::string text(const json::value& value) { return json::serialize(value); }

std::string lines_text(const std::vector<json::object>& lines) {
  std::string out;
  for (const json::object& line : lines) out += "\n  " + text(line);
  return out.empty() ? " (none)" : out;
}

// message.content of a message line; "" for any other line.
std::string content_or_empty(const json::object& line) {
  if (line.at("type") != "message") return {};
  const json::value* message = line.if_contains("message");
  if (!message || !message->is_object()) return {};
  const json::value* content = message->as_object().if_contains("content");
  return content && content->is_string() ? std::string(content->as_string()) : std::string();
}

// The message.content of every additional_context line of `lines`, in order.
std::vector<std::string> contents(const std::vector<json::object>& lines) {
  std::vector<std::string> out;
  for (const json::object& line : lines) {
    if (line.at("type") == "message" && line.at("message").at("kind") == "additional_context") {
      out.push_back(content_or_empty(line));
    }
  }
  return out;
}

// prefix + "0" .. prefix + (n-1).
std::vector<std::string> numbered(std::string_view prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(std::string(prefix) + std::to_string(i));
  return out;
}

LinePattern message_with_content(std::string content) {
  return LinePattern{"a message with content '" + content + "'",
                     [content](const json::object& line) {
                       return line.at("type") == "message" && content_or_empty(line) == content;
                     }};
}

// A broadcast (to "*") whose message is a cancel with this reason.
LinePattern broadcast_with_reason(std::string reason) {
  return LinePattern{"a broadcast with reason '" + reason + "'", [reason](const json::object& l) {
                       if (l.at("type") != "message" || l.at("to") != "*") return false;
                       const json::value* r = l.at("message").as_object().if_contains("reason");
                       return r && r->is_string() && r->as_string() == reason;
                     }};
}

json::object cancel_message(std::string_view reason) {
  return json::object{{"kind", "cancel"}, {"reason", reason}};
}

// A field of a line as JSON text, "<absent>" when it has none.
std::string field(const json::object& line, std::string_view name) {
  const json::value* value = line.if_contains(name);
  return value ? text(*value) : "<absent>";
}

// `s` as a JSON string literal, to compare with field().
std::string quoted(std::string_view s) { return text(json::string(s)); }

// A new connection on node i that said hello as `agent`. While the swarm
// still has the agent connected elsewhere (a disconnect another host has not
// announced yet), it says hello again, for up to `retry_taken`.
EventReader hello_on(Swarm& swarm, int i, std::string_view agent,
                     std::chrono::milliseconds retry_taken = 0ms) {
  EventReader reader = swarm.node(i).daemon->connect();
  json::object reply;
  support::poll_until(support::PollClock::now() + retry_taken, [&] {
    reply = hello_as(reader, agent);
    return !(reply.at("type") == "error" && reply.at("code") == "agent_taken");
  });
  REQUIRE_MESSAGE(reply.at("type") == "hello", "hello as " << agent << " on " << swarm.node(i).host
                                                           << ": " << text(reply) << "\nits log:\n"
                                                           << swarm.node(i).daemon->log());
  CHECK(field(reply, "agent") == quoted(agent));
  return reader;
}

// send, again while the recipient is not_subscribed (its hello on another
// host not yet known here), for up to `within`; the last reply.
json::object send_when_known(EventReader& sender, std::string_view to, json::object message,
                             std::chrono::milliseconds within = 10s) {
  json::object reply;
  support::poll_until(support::PollClock::now() + within, [&] {
    reply = send(sender, to, message);
    return !(reply.at("type") == "error" && reply.at("code") == "not_subscribed");
  });
  return reply;
}

// send with a req of its own, waiting up to `within` for the reply: during a
// fault a send may wait on the swarm longer than call()'s 5 s.
json::object send_waiting(EventReader& sender, std::string_view to, const json::object& message,
                          std::chrono::milliseconds within) {
  static int next = 0;
  std::string req = "slow-" + std::to_string(++next);
  json::object request{{"op", "send"}, {"req", req}, {"to", to}, {"message", message}};
  sender.send_line(text(request));
  return sender
      .read_until(LinePattern{"the reply to " + text(request),
                              [req](const json::object& line) {
                                const json::value* r = line.if_contains("req");
                                return r && r->is_string() && r->as_string() == req;
                              }},
                  within)
      .back();
}

json::object cluster_status(const DaemonProcess& daemon) {
  json::object reply = daemon.connect().call({{"op", "status"}});
  REQUIRE_MESSAGE(reply.at("type") == "status", text(reply));
  REQUIRE_MESSAGE(reply.contains("cluster"), text(reply));
  return reply.at("cluster").as_object();
}

// status.cluster.messages; fails the test when it is missing.
json::object message_counters(const DaemonProcess& daemon) {
  json::object cluster = cluster_status(daemon);
  const json::value* messages = cluster.if_contains("messages");
  REQUIRE_MESSAGE((messages && messages->is_object()),
                  "status.cluster has no messages object: " << text(cluster));
  return messages->as_object();
}

// Waits until every running node's agent messages cross the swarm:
// status.cluster.messages.ready. A coordd has joined the swarm (and answers
// hello and send locally) a moment before its message layer is up; until then
// a send to another host's agent is cluster_unavailable and a hello is not yet
// checked swarm-wide, so every test waits for this before its first hello.
void wait_messages_ready(Swarm& swarm, std::chrono::milliseconds within = 20s) {
  for (int i = 0; i < swarm.size(); ++i) {
    if (!swarm.node(i).daemon) continue;
    json::object cluster;
    bool ready = support::poll_until(support::PollClock::now() + within, [&] {
      cluster = cluster_status(*swarm.node(i).daemon);
      const json::value* messages = cluster.if_contains("messages");
      return messages && messages->is_object() && messages->as_object().contains("ready") &&
             messages->as_object().at("ready") == true;
    });
    REQUIRE_MESSAGE(ready, "node " << swarm.node(i).host
                                   << "'s status.cluster.messages.ready never became true within "
                                   << within.count() << " ms: " << text(cluster) << "\nits log:\n"
                                   << swarm.node(i).daemon->log());
  }
}

// Waits until node i's status says whether it is connected to NATS.
void wait_connected(Swarm& swarm, int i, bool connected, std::chrono::milliseconds within) {
  json::object cluster;
  bool reached = support::poll_until(support::PollClock::now() + within, [&] {
    cluster = cluster_status(*swarm.node(i).daemon);
    return cluster.at("connected") == connected;
  });
  REQUIRE_MESSAGE(reached, "node " << swarm.node(i).host << " never had cluster.connected "
                                   << connected << " within " << within.count()
                                   << " ms: " << text(cluster) << "\nits log:\n"
                                   << swarm.node(i).daemon->log());
}

// Checks a message line an agent received: from, to, from_host and content.
void check_message(const json::object& line, std::string_view from, std::string_view to,
                   std::string_view from_host, std::string_view content) {
  CAPTURE(text(line));
  CHECK(line.at("type") == "message");
  CHECK_FALSE(line.contains("sub"));
  CHECK(line.at("seq").is_number());
  CHECK(field(line, "from") == quoted(from));
  CHECK(field(line, "to") == quoted(to));
  CHECK((line.at("timestamp").is_string() && !line.at("timestamp").as_string().empty()));
  CHECK_MESSAGE(field(line, "from_host") == quoted(from_host),
                "from_host is " << field(line, "from_host"));
  CHECK(line.at("message").at("kind") == "additional_context");
  CHECK(content_or_empty(line) == content);
}

}  // namespace

TEST_CASE(
    "an agent on one host sends to an agent on another: sent, then delivered once with its "
    "from_host, in the order sent; an agent unknown to the swarm is not_subscribed") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  EventReader w1 = hello_on(swarm, 1, "w1");
  EventReader w2 = hello_on(swarm, 0, "w2");  // on orch's own host

  json::object sent = send_when_known(orch, "w1", context_message("hello w1"));
  sent_seq(sent);
  json::object line = next_line(w1, kAcrossHosts);
  check_message(line, "orch", "w1", "a", "hello w1");

  // The other way, b to a.
  sent_seq(send_when_known(w1, "orch", context_message("hello orch")));
  check_message(next_line(orch, kAcrossHosts), "w1", "orch", "b", "hello orch");

  // Between two agents of one host, from_host is there too.
  sent_seq(send(orch, "w2", context_message("local")));
  check_message(next_line(w2, kAcrossHosts), "orch", "w2", "a", "local");

  // In the order sent, once each.
  std::vector<std::string> want = numbered("o", 50);
  for (const std::string& content : want) sent_seq(send(orch, "w1", context_message(content)));
  sent_seq(send(orch, "w1", context_message("end")));
  std::vector<json::object> lines = w1.read_until(message_with_content("end"), kAcrossHosts);
  lines.pop_back();
  CHECK_MESSAGE(contents(lines) == want, "w1 received:" << lines_text(lines));
  std::uint64_t last = 0;
  for (const json::object& l : lines) {
    CHECK_MESSAGE(seq_of(l) > last, "seqs do not increase:" << lines_text(lines));
    last = seq_of(l);
  }

  json::object refused = send(orch, "nobody", context_message("lost"));
  CHECK_MESSAGE(error_code(refused) == "not_subscribed", text(refused));
}

TEST_CASE(
    "agent names are unique across the swarm: hello on another host is agent_taken; with "
    "takeover the old connection gets a final taken_over and is closed") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader old = hello_on(swarm, 1, "w1");
  EventReader orch = hello_on(swarm, 0, "orch");

  EventReader on_a = swarm.node(0).daemon->connect();
  json::object refused = hello_as(on_a, "w1");
  CHECK_MESSAGE(error_code(refused) == "agent_taken", text(refused));

  EventReader fresh = swarm.node(2).daemon->connect();
  json::object taken = hello_as(fresh, "w1", true);
  REQUIRE_MESSAGE(taken.at("type") == "hello", text(taken) << "\nc's log:\n"
                                                           << swarm.node(2).daemon->log());
  std::vector<std::string> last_words = old.read_until_closed(10s);
  REQUIRE_MESSAGE(last_words.size() == 1,
                  "the old connection received " << last_words.size() << " line(s)");
  json::value error = json::parse(last_words.at(0));
  CHECK_MESSAGE(error.at("type") == "error", last_words.at(0));
  CHECK_MESSAGE(error.at("code") == "taken_over", last_words.at(0));

  // What is sent to w1 now reaches it on c.
  sent_seq(send_when_known(orch, "w1", context_message("to the new one")));
  check_message(next_line(fresh, kAcrossHosts), "orch", "w1", "a", "to the new one");
}

TEST_CASE(
    "a disconnected agent's mailbox keeps what is sent meanwhile and follows the agent to the "
    "host where it next says hello") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  { EventReader w1 = hello_on(swarm, 1, "w1"); }
  EventReader on_b = swarm.node(1).daemon->connect();
  wait_for_connected_agents(on_b, 0);  // b has read w1's EOF

  std::vector<std::string> want = numbered("k", 3);
  for (const std::string& content : want) {
    sent_seq(send_when_known(orch, "w1", context_message(content)));
  }
  EventReader w1 = hello_on(swarm, 2, "w1", 10s);
  std::vector<json::object> lines = w1.read_until(message_with_content("k2"), kAcrossHosts);
  CHECK_MESSAGE(contents(lines) == want, "w1 on c received:" << lines_text(lines));
  for (const json::object& line : lines) {
    CHECK_MESSAGE(field(line, "from_host") == "\"a\"", text(line));
  }
  // Nothing more of them: the next thing w1 hears is what is sent next.
  sent_seq(send(orch, "w1", context_message("after")));
  check_message(next_line(w1, kAcrossHosts), "orch", "w1", "a", "after");
}

TEST_CASE(
    "a broadcast reaches every connected agent of the swarm, the sender too, and every tap, "
    "once each") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  EventReader w1 = hello_on(swarm, 1, "w1");
  EventReader w2 = hello_on(swarm, 2, "w2");
  Tap tap_b = connect_tap(*swarm.node(1).daemon, {{"messages", "broadcast"}});
  Tap tap_c = connect_tap(*swarm.node(2).daemon, {{"messages", "all"}});

  json::object sent = broadcast(orch, cancel_message("r"));
  sent_seq(sent);
  const json::value* recipients = sent.if_contains("recipients");
  REQUIRE_MESSAGE((recipients && recipients->is_number()), text(sent));
  CHECK_MESSAGE(recipients->to_number<std::int64_t>() >= 1, text(sent));
  // A second broadcast from the same sender ends each reader's wait: what
  // comes before it is exactly the first, once.
  sent_seq(broadcast(orch, cancel_message("end")));

  struct Reader {
    std::string who;
    EventReader* reader;
    std::optional<std::uint64_t> sub;
  };
  for (const Reader& r : {Reader{"orch on a", &orch, {}}, Reader{"w1 on b", &w1, {}},
                          Reader{"w2 on c", &w2, {}}, Reader{"tap on b", &tap_b.reader, tap_b.sub},
                          Reader{"tap on c", &tap_c.reader, tap_c.sub}}) {
    CAPTURE(r.who);
    std::vector<json::object> lines =
        r.reader->read_until(broadcast_with_reason("end"), kAcrossHosts);
    REQUIRE_MESSAGE(lines.size() == 2, r.who << " received:" << lines_text(lines));
    const json::object& line = lines.front();
    CAPTURE(text(line));
    CHECK(broadcast_with_reason("r").matches(line));
    CHECK(line.at("from") == "orch");
    CHECK(field(line, "from_host") == "\"a\"");
    if (r.sub) {
      CHECK(field(line, "sub") == std::to_string(*r.sub));
    } else {
      CHECK_FALSE(line.contains("sub"));
    }
  }
}

TEST_CASE(
    "a tap on a third host sees targeted traffic between agents on two others, and broadcasts, "
    "once each") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  EventReader w1 = hello_on(swarm, 1, "w1");
  Tap tap = connect_tap(*swarm.node(2).daemon, {{"messages", "all"}});

  sent_seq(send_when_known(orch, "w1", context_message("t1")));
  check_message(next_line(w1, kAcrossHosts), "orch", "w1", "a", "t1");
  sent_seq(send_when_known(w1, "orch", context_message("t2")));
  check_message(next_line(orch, kAcrossHosts), "w1", "orch", "b", "t2");
  sent_seq(broadcast(orch, cancel_message("r")));

  // The three come from two hosts: their order on c is not asserted.
  std::set<std::string> seen;
  auto key = [](const json::object& line) {
    return line.at("to") == "*" ? std::string("broadcast") : content_or_empty(line);
  };
  std::vector<json::object> lines =
      tap.reader.read_until(LinePattern{"t1, t2 and the broadcast",
                                        [&](const json::object& line) {
                                          if (line.at("type") == "message") seen.insert(key(line));
                                          return seen.size() == 3;
                                        }},
                            10s);
  sent_seq(send(orch, "w1", context_message("t-end")));
  std::vector<json::object> more =
      tap.reader.read_until(message_with_content("t-end"), kAcrossHosts);
  lines.insert(lines.end(), more.begin(), more.end());

  std::map<std::string, int> count;
  for (const json::object& line : lines) {
    CAPTURE(text(line));
    REQUIRE(line.at("type") == "message");
    CHECK(field(line, "sub") == std::to_string(tap.sub));
    std::string k = key(line);
    ++count[k];
    if (k == "t1" || k == "t-end" || k == "broadcast") {
      CHECK(line.at("from") == "orch");
      CHECK(field(line, "from_host") == "\"a\"");
      if (k != "broadcast") CHECK(line.at("to") == "w1");
    } else if (k == "t2") {
      CHECK(line.at("from") == "w1");
      CHECK(line.at("to") == "orch");
      CHECK(field(line, "from_host") == "\"b\"");
    }
  }
  const std::map<std::string, int> once{{"t1", 1}, {"t2", 1}, {"broadcast", 1}, {"t-end", 1}};
  CHECK_MESSAGE(count == once, "the tap on c received:" << lines_text(lines));
}

TEST_CASE(
    "messages for an agent survive its host's coordd being killed and restarted: all 100 arrive "
    "once each, in order") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  { EventReader w1 = hello_on(swarm, 1, "w1"); }
  EventReader on_b = swarm.node(1).daemon->connect();
  wait_for_connected_agents(on_b, 0);

  std::vector<std::string> want = numbered("m", 100);
  for (const std::string& content : want) {
    sent_seq(send_when_known(orch, "w1", context_message(content)));
  }
  swarm.node(1).daemon->kill();
  swarm.restart(1);
  swarm.settle(1);
  wait_messages_ready(swarm);

  EventReader w1 = hello_on(swarm, 1, "w1", 10s);
  std::vector<json::object> lines = w1.read_until(message_with_content("m99"), 30s);
  CHECK_MESSAGE(contents(lines) == want, "w1 received:" << lines_text(lines));
  sent_seq(send(orch, "w1", context_message("marker")));
  json::object next = next_line(w1, kAcrossHosts);
  CHECK_MESSAGE(content_or_empty(next) == "marker", "after m99 w1 received " << text(next));
}

TEST_CASE(
    "an agent connected on a coordd that was killed is free once that host runs again: it says "
    "hello on another host without takeover, and its messages follow it") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  std::optional<EventReader> w1_on_b;
  w1_on_b.emplace(hello_on(swarm, 1, "w1"));
  sent_seq(send_when_known(orch, "w1", context_message("before")));
  check_message(next_line(*w1_on_b), "orch", "w1", "a", "before");
  swarm.node(1).daemon->kill();  // the registry still says w1 is connected on b
  w1_on_b.reset();
  sent_seq(send(orch, "w1", context_message("while-down")));
  swarm.restart(1);
  swarm.settle(1);
  wait_messages_ready(swarm);
  // b runs under a new epoch: the old run's connection is no more.
  EventReader w1 = hello_on(swarm, 2, "w1", 10s);
  std::vector<json::object> lines = w1.read_until(message_with_content("while-down"), kAcrossHosts);
  check_message(lines.back(), "orch", "w1", "a", "while-down");
  // "before" may come again: b was killed right after handing it over,
  // perhaps before its ack left (PROTOCOL.md: at least once in that window).
  for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
    CHECK_MESSAGE(content_or_empty(lines[i]) == "before", "unexpected: " << text(lines[i]));
  }
}

TEST_CASE(
    "the message stream's leader killed mid-traffic: every message whose send was sent arrives, "
    "once") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  EventReader w1 = hello_on(swarm, 1, "w1");
  sent_seq(send_when_known(orch, "w1", context_message("first")));
  check_message(next_line(w1, kAcrossHosts), "orch", "w1", "a", "first");

  std::string leader = swarm.nats().stream_leader(std::string(kMessageStream));
  int killed = swarm.nats().node_index(leader);
  REQUIRE_MESSAGE(killed >= 0,
                  "no leader found for " << kMessageStream << " (got '" << leader << "')");
  MESSAGE("the leader of " << kMessageStream << " is " << leader);

  std::vector<std::string> want = numbered("m", 200);
  int retries = 0;
  for (int n = 0; n < int(want.size()); ++n) {
    if (n == 60) swarm.nats().kill(killed);
    if (n == 140) swarm.nats().start(killed);
    json::object reply;
    auto give_up = support::PollClock::now() + 20s;
    support::PollBackoff backoff(100ms);
    for (;;) {
      reply = send_waiting(orch, "w1", context_message(want[std::size_t(n)]), 25s);
      if (reply.at("type") == "sent") break;
      REQUIRE_MESSAGE((reply.at("type") == "error" && reply.at("code") == "cluster_unavailable" &&
                       support::PollClock::now() < give_up),
                      "send of " << want[std::size_t(n)] << " (after " << retries
                                 << " retries in all): " << text(reply) << "\na's log:\n"
                                 << swarm.node(0).daemon->log());
      ++retries;
      backoff.pause_until(give_up);
    }
  }
  MESSAGE(retries << " send(s) were retried after cluster_unavailable");
  // Every message arrives once. In order, but for one delivered to b just as
  // b's server died, lost on its way: that one comes again after the ack
  // wait (30 s), behind later ones (PROTOCOL.md, "Across hosts").
  std::map<std::string, int> count;
  std::vector<json::object> lines;
  bool all = support::poll_until(support::PollClock::now() + 75s, [&] {
    std::vector<json::object> more = w1.read_until(line_of_type("message"), 75s);
    for (json::object& line : more) {
      if (line.at("type") != "message") continue;
      ++count[content_or_empty(line)];
      lines.push_back(std::move(line));
    }
    return count.size() == want.size();
  });
  std::vector<std::string> got = contents(lines);
  CHECK_MESSAGE(all, "w1 received:" << lines_text(lines) << "\nb's log:\n"
                                    << swarm.node(1).daemon->log());
  for (const auto& entry : count) {
    CHECK_MESSAGE(entry.second == 1, entry.first << " x" << entry.second);
  }
  if (got != want)
    MESSAGE("delivered out of order (a delivery lost with a server): " << got.size());
  sent_seq(send_waiting(orch, "w1", context_message("marker"), 25s));
  json::object next = next_line(w1, kAcrossHosts);
  CHECK_MESSAGE(content_or_empty(next) == "marker", "after m199 w1 received " << text(next));
}

TEST_CASE(
    "a coordd cut off from NATS answers cluster_unavailable to a send for another host's agent "
    "and still delivers between its own agents") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  EventReader w2 = hello_on(swarm, 0, "w2");
  EventReader w1 = hello_on(swarm, 1, "w1");
  sent_seq(send_when_known(orch, "w1", context_message("before")));
  check_message(next_line(w1, kAcrossHosts), "orch", "w1", "a", "before");

  swarm.node(0).cut();
  wait_connected(swarm, 0, false, 15s);
  json::object refused = send_waiting(orch, "w1", context_message("while cut"), 15s);
  CHECK_MESSAGE(error_code(refused) == "cluster_unavailable", text(refused));
  sent_seq(send(orch, "w2", context_message("local while cut")));
  check_message(next_line(w2, kAcrossHosts), "orch", "w2", "a", "local while cut");

  swarm.node(0).heal();
  wait_connected(swarm, 0, true, 20s);
  wait_messages_ready(swarm);
  json::object reply;
  support::poll_until(support::PollClock::now() + 20s, [&] {
    reply = send_waiting(orch, "w1", context_message("after heal"), 15s);
    return !(reply.at("type") == "error" && reply.at("code") == "cluster_unavailable");
  });
  sent_seq(reply);
  // The refused send left nothing behind: the next thing w1 hears is this.
  json::object next = next_line(w1, kAcrossHosts);
  check_message(next, "orch", "w1", "a", "after heal");
}

TEST_CASE(
    "a message published on NATS by no coordd, naming a sender that is on another host, is "
    "refused and counted, and never delivered") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader w1 = hello_on(swarm, 1, "w1");
  EventReader orch2 = hello_on(swarm, 2, "orch2");
  // A genuine one first: b knows orch2 as an agent of c.
  sent_seq(send_when_known(orch2, "w1", context_message("genuine")));
  check_message(next_line(w1, kAcrossHosts), "orch2", "w1", "c", "genuine");

  cluster_suite::LoopbackClient nats(swarm.nats().client_port(1));
  using Read = cluster_suite::LoopbackClient::Read;
  REQUIRE_MESSAGE(nats.read_until("\r\n", 5s) == Read::kFound, nats.received());
  REQUIRE(nats.send("CONNECT {\"verbose\":false,\"headers\":true}\r\nSUB _INBOX.forged.* 1\r\n"));
  // The contract's forgery, and one that also carries the id a coordd's
  // messages do: both name orch2, an agent of c, as sent from host a.
  std::string subject = "coord.swarmtest.msg.to.w1.a";
  auto publish = [&](int n, std::string body) {
    std::string headers = "NATS/1.0\r\nNats-Msg-Id: forged:1:" + std::to_string(n) + "\r\n\r\n";
    REQUIRE(nats.send("HPUB " + subject + " _INBOX.forged." + std::to_string(n) + " " +
                      std::to_string(headers.size()) + " " +
                      std::to_string(headers.size() + body.size()) + "\r\n" + headers + body +
                      "\r\n"));
  };
  publish(1,
          R"({"from":"orch2","from_host":"a","to":"w1","timestamp":"2026-12-02T00:00:00.000000Z",)"
          R"("message":{"kind":"additional_context","content":"forged"}})");
  publish(2, R"({"id":"forged:1:2","from":"orch2","from_host":"a","to":"w1",)"
             R"("timestamp":"2026-12-02T00:00:00.000000Z",)"
             R"("message":{"kind":"additional_context","content":"forged"}})");
  REQUIRE(nats.send("PING\r\n"));
  CHECK_MESSAGE(nats.read_until("PONG", 5s) == Read::kFound, nats.received());
  // The stream stored both (its acks come to our inbox).
  for (std::string ack : {"MSG _INBOX.forged.1 ", "MSG _INBOX.forged.2 "}) {
    CHECK_MESSAGE(nats.read_until(ack, 5s) == Read::kFound, "no JetStream ack ("
                                                                << ack << "); the server sent:\n"
                                                                << nats.received());
  }
  CHECK_MESSAGE(nats.received().find(std::string(kMessageStream)) != std::string::npos,
                nats.received());
  CHECK_MESSAGE(nats.received().find("-ERR") == std::string::npos, nats.received());

  sent_seq(send(orch2, "w1", context_message("marker")));
  std::vector<json::object> lines = w1.read_until(message_with_content("marker"), kAcrossHosts);
  for (const json::object& line : lines) {
    CHECK_MESSAGE(content_or_empty(line) != "forged",
                  "w1 received a forged message:" << lines_text(lines));
  }
  CHECK_MESSAGE(lines.size() == 1, "w1 received:" << lines_text(lines));

  json::object counters;
  bool refused = support::poll_until(support::PollClock::now() + 5s, [&] {
    counters = message_counters(*swarm.node(1).daemon);
    const json::value* n = counters.if_contains("refused");
    return n && n->is_number() && n->to_number<std::int64_t>() >= 1;
  });
  CHECK_MESSAGE(refused, "b's status.cluster.messages: " << text(counters) << "\nb's log:\n"
                                                         << swarm.node(1).daemon->log());
}

TEST_CASE(
    "two hosts racing hello for one agent name: exactly one gets hello, the other "
    "agent_taken") {
  Swarm swarm;
  wait_messages_ready(swarm);
  for (int round = 0; round < 5; ++round) {
    std::string agent = "racer" + std::to_string(round);
    CAPTURE(agent);
    std::vector<EventReader> readers;
    readers.push_back(swarm.node(1).daemon->connect());
    readers.push_back(swarm.node(2).daemon->connect());
    std::string hello = text(json::object{{"op", "hello"}, {"req", "race"}, {"agent", agent}});
    std::latch start(2);
    std::atomic<int> failed_sends = 0;
    {
      std::vector<std::jthread> threads;
      for (EventReader& reader : readers) {
        threads.emplace_back([&start, &failed_sends, &hello, r = &reader] {
          start.arrive_and_wait();
          try {
            r->send_line(hello);
          } catch (...) {
            ++failed_sends;
          }
        });
      }
    }
    REQUIRE(failed_sends == 0);
    std::vector<json::object> replies;
    for (EventReader& reader : readers) {
      replies.push_back(reader
                            .read_until(LinePattern{"the reply to hello",
                                                    [](const json::object& line) {
                                                      return line.if_contains("req") &&
                                                             line.at("req") == "race";
                                                    }},
                                        10s)
                            .back());
    }
    std::string both = "b: " + text(replies[0]) + "\nc: " + text(replies[1]);
    int hellos = 0;
    int taken = 0;
    for (const json::object& reply : replies) {
      if (reply.at("type") == "hello") ++hellos;
      if (reply.at("type") == "error" && reply.at("code") == "agent_taken") ++taken;
    }
    CHECK_MESSAGE(hellos == 1, both);
    CHECK_MESSAGE(taken == 1, both);
  }
}

TEST_CASE(
    "status in a swarm counts messages: cluster.messages has sent, received, refused and "
    "duplicates") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  EventReader w1 = hello_on(swarm, 1, "w1");
  sent_seq(send_when_known(orch, "w1", context_message("counted")));
  check_message(next_line(w1, kAcrossHosts), "orch", "w1", "a", "counted");
  for (int i = 0; i < swarm.size(); ++i) {
    json::object counters = message_counters(*swarm.node(i).daemon);
    MESSAGE(swarm.node(i).host << "'s status.cluster.messages: " << text(counters));
    for (std::string_view name : {"sent", "received", "refused", "duplicates"}) {
      const json::value* n = counters.if_contains(name);
      CHECK_MESSAGE((n && (n->is_int64() || n->is_uint64()) && n->to_number<std::int64_t>() >= 0),
                    swarm.node(i).host << ": " << name << " is not a count in " << text(counters));
    }
    // Every mailbox consumer asked for is made in time (w1's already was:
    // a message came through it).
    json::object latest;
    bool made = support::poll_until(support::PollClock::now() + 10s, [&] {
      latest = message_counters(*swarm.node(i).daemon);
      return latest.at("mailboxes_opening") == 0;
    });
    CHECK_MESSAGE(made, swarm.node(i).host << ": " << text(latest));
  }
}

TEST_CASE(
    "messages a local sender left in an agent's retained mailbox go on to the agent when it says "
    "hello on another host, in order") {
  Swarm swarm;
  wait_messages_ready(swarm);
  EventReader orch = hello_on(swarm, 0, "orch");
  EventReader s = hello_on(swarm, 1, "s");
  { EventReader w1 = hello_on(swarm, 1, "w1"); }  // w1 goes away from b; its mailbox is kept there
  // Sent on b while w1's mailbox is on b: kept there, not in the stream.
  for (const std::string& content : numbered("local-", 3)) {
    json::object reply;
    support::poll_until(support::PollClock::now() + 10s, [&] {
      reply = send(s, "w1", context_message(content));
      return reply.at("type") == "sent";
    });
    REQUIRE_MESSAGE(reply.at("type") == "sent", text(reply));
  }
  REQUIRE(send_when_known(orch, "w1", context_message("remote-0")).at("type") == "sent");

  EventReader w1 = hello_on(swarm, 2, "w1", 10s);
  std::vector<json::object> lines;
  std::set<std::string> seen;
  while (seen.size() < 4) {
    std::vector<json::object> more = w1.read_until(line_of_type("message"), kAcrossHosts);
    for (json::object& line : more) {
      if (line.at("type") != "message") continue;
      std::string content = content_or_empty(line);
      CHECK_MESSAGE(seen.insert(content).second, "delivered twice: " << text(line));
      lines.push_back(std::move(line));
    }
  }
  std::vector<std::string> local_order;
  for (const json::object& line : lines) {
    std::string content = content_or_empty(line);
    if (content.starts_with("local-")) {
      local_order.push_back(content);
      check_message(line, "s", "w1", "b", content);
    } else {
      check_message(line, "orch", "w1", "a", content);
    }
  }
  CHECK(local_order == numbered("local-", 3));
  // b counts them once the stream has acked them, which may be after c
  // delivered them.
  json::object counters;
  bool forwarded = support::poll_until(support::PollClock::now() + 10s, [&] {
    counters = message_counters(*swarm.node(1).daemon);
    return counters.at("forwarded") == 3;
  });
  CHECK_MESSAGE(forwarded, "b's status.cluster.messages: " << text(counters));
}

}  // namespace coordd::swarm
