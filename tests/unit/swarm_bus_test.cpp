// The SwarmBus's rules, in process on a fake clock: the server of one host
// (ServerFixture) with a SwarmBus over a fake MessageBridge that records
// what it is asked and answers as the swarm would, so every event of the
// swarm (registry entries, acks, pulled messages) is one the test chose.
#include "daemon/cluster/swarm_bus.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <deque>
#include <string>
#include <vector>

#include "proto/cluster_names.hpp"
#include "proto/cluster_value.hpp"
#include "tests/unit/server_fixture.hpp"

namespace coordd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

constexpr std::string_view kCluster = "unit";

std::string type_of(const json::object& line) { return std::string(line.at("type").as_string()); }

struct FakeMessageBridge final : MessageBridge {
  struct Write {
    std::uint64_t token;
    std::string key, value;
    std::uint64_t expected;
  };
  struct Publish {
    std::uint64_t token;
    std::string subject, body, id;
  };
  void write_agent(std::uint64_t token, std::string key, std::string value,
                   std::uint64_t expected) override {
    writes.push_back({token, std::move(key), std::move(value), expected});
  }
  void delete_agent(std::string key) override { deleted.push_back(std::move(key)); }
  void read_agent(std::uint64_t token, std::string key) override {
    reads.emplace_back(token, std::move(key));
  }
  void publish_message(std::uint64_t token, std::string subject, std::string body,
                       std::string id) override {
    published.push_back({token, std::move(subject), std::move(body), std::move(id)});
  }
  void publish_core(std::string subject, std::string body) override {
    core.emplace_back(std::move(subject), std::move(body));
  }
  void open_mailbox(std::string agent, bool fresh) override { opened.emplace_back(agent, fresh); }
  void close_mailbox(std::string agent, bool remove) override {
    closed.emplace_back(agent, remove);
  }
  void ack(std::string subject) override { acks.push_back(std::move(subject)); }

  std::deque<Write> writes;
  std::vector<std::string> deleted;
  std::deque<std::pair<std::uint64_t, std::string>> reads;
  std::deque<Publish> published;
  std::vector<std::pair<std::string, std::string>> core;
  std::vector<std::pair<std::string, bool>> opened;
  std::vector<std::pair<std::string, bool>> closed;
  std::vector<std::string> acks;
};

// Host "a" of swarm "unit", joined, its message layer up.
class Host {
 public:
  Host()
      : swarm_(server.io(), server.clock, server.bus(), bridge, {std::string(kCluster), "a", "ea"},
               [this](const std::string& host, const std::string& epoch) {
                 return stale.contains(host) || epoch == "ended";
               }) {
    server.bus().set_route(&swarm_);
    swarm_.set_joined(true);
    event(BridgeMessagesReady{true, ""});
  }
  ~Host() { server.bus().set_route(nullptr); }

  void event(BridgeEvent e) {
    swarm_.on_event(e);
    server.run();
  }
  void registry_read() { event(BridgeAgentsCaughtUp{}); }
  json::object status() const { return swarm_.status(); }
  // The registry entry of `agent` at `revision`, as the agents watch delivers it.
  void entry(std::string_view agent, std::string_view host, bool connected, std::uint64_t revision,
             std::string_view epoch = "e") {
    event(BridgeAgent{encode_name_part(agent),
                      encode_agent_value({std::string(host), std::string(epoch), connected,
                                          "2026-03-30T15:00:00.000000Z"}),
                      false, revision});
  }
  // Answers the oldest registry write: stored at `revision`.
  FakeMessageBridge::Write answer_write(std::uint64_t revision) {
    REQUIRE_FALSE(bridge.writes.empty());
    FakeMessageBridge::Write write = bridge.writes.front();
    bridge.writes.pop_front();
    BridgeAgentWritten written;
    written.token = write.token;
    written.ok = true;
    written.revision = revision;
    event(std::move(written));
    return write;
  }
  // Answers the oldest registry write: someone else holds the entry.
  void conflict_write(std::string_view host, bool connected, std::uint64_t revision) {
    REQUIRE_FALSE(bridge.writes.empty());
    FakeMessageBridge::Write write = bridge.writes.front();
    bridge.writes.pop_front();
    BridgeAgentWritten written;
    written.token = write.token;
    written.conflict = true;
    written.current =
        encode_agent_value({std::string(host), "e", connected, "2026-03-30T15:00:00.000000Z"});
    written.current_revision = revision;
    event(std::move(written));
  }
  // Answers the oldest registry read: the leader has `value` at `revision`
  // (no value: no entry), or cannot be asked (`error`).
  void answer_read(std::optional<AgentValue> value, std::uint64_t revision,
                   std::string error = "") {
    REQUIRE_FALSE(bridge.reads.empty());
    auto [token, key] = bridge.reads.front();
    bridge.reads.pop_front();
    BridgeAgentRead read;
    read.token = token;
    read.key = key;
    read.ok = error.empty();
    read.found = value.has_value();
    read.value = value ? encode_agent_value(*value) : "";
    read.revision = revision;
    read.error = std::move(error);
    event(std::move(read));
  }
  // A message pulled from `to`'s consumer, published by host `host`.
  void pulled(std::string_view to, std::string_view host, std::optional<std::string> from,
              std::string_view content, std::uint64_t stream_seq, std::string id = "") {
    MessageValue value{id.empty() ? std::string(host) + ":x:" + std::to_string(stream_seq) : id,
                       from,
                       std::string(host),
                       std::string(to),
                       "2026-03-30T15:00:00.000000Z",
                       {{"kind", "additional_context"}, {"content", content}}};
    BridgeMessage message;
    message.agent = encode_name_part(to);
    message.subject = mailbox_subject(kCluster, to, host);
    message.data = encode_message_value(value);
    message.ack_subject = "$JS.ACK.s.mb." + std::to_string(stream_seq);
    message.stream_seq = stream_seq;
    event(std::move(message));
  }

  // A client that said hello as `agent`, claimed in the registry at `revision`.
  FixtureClient& held(std::string_view agent, std::uint64_t revision) {
    FixtureClient& client = hello(agent);
    answer_write(revision);
    REQUIRE(type_of(client.take()) == "hello");
    return client;
  }

  FixtureClient& hello(std::string_view agent, bool takeover = false) {
    FixtureClient& client = server.connect();
    client.send({{"op", "hello"}, {"agent", agent}, {"takeover", takeover}});
    server.run();
    return client;
  }

  ServerFixture server;
  FakeMessageBridge bridge;
  std::set<std::string> stale;

 private:
  SwarmBus swarm_;
};

std::string content_of(const json::object& line) {
  return std::string(line.at("message").at("content").as_string());
}

TEST_CASE("a hello on a coordd that has just joined waits for the registry, at most 5 s") {
  Host host;
  FixtureClient& w1 = host.hello("w1");
  CHECK(w1.lines().empty());  // waiting for the registry
  host.server.advance(4900ms);
  CHECK(w1.lines().empty());
  host.server.advance(200ms);
  REQUIRE(type_of(w1.take()) == "hello");  // served locally
  CHECK(host.bridge.writes.empty());
  host.registry_read();  // now the claim is written
  REQUIRE(host.bridge.writes.size() == 1);
  CHECK(host.bridge.writes.front().expected == 0);

  FixtureClient& w2 = host.hello("w2");
  host.registry_read();
  host.answer_write(7);  // w1's
  CHECK(w2.lines().empty());
  host.answer_write(8);  // w2's
  CHECK(type_of(w2.take()) == "hello");
}

TEST_CASE(
    "a name connected on another live host is agent_taken; with takeover it is written at "
    "that entry's revision; on a stale host, or under an ended run, it is free") {
  Host host;
  host.registry_read();
  host.entry("w1", "b", true, 5);
  FixtureClient& plain = host.hello("w1");
  json::object refused = plain.take();
  CHECK(refused.at("code") == "agent_taken");
  CHECK(std::string(refused.at("message").as_string()).find("host b") != std::string::npos);
  CHECK(host.bridge.writes.empty());

  FixtureClient& forced = host.hello("w1", true);
  REQUIRE(host.bridge.writes.size() == 1);
  CHECK(host.bridge.writes.front().expected == 5);
  std::optional<AgentValue> value = decode_agent_value(host.bridge.writes.front().value);
  REQUIRE(value);
  CHECK(value->host == "a");
  CHECK(value->epoch == "ea");
  CHECK(value->connected);
  host.answer_write(6);
  CHECK(type_of(forced.take()) == "hello");
  REQUIRE(host.bridge.opened.size() == 1);
  CHECK(host.bridge.opened.front() == std::pair<std::string, bool>("w1", true));  // re-made

  host.entry("w2", "c", true, 9);
  host.stale.insert("c");
  FixtureClient& w2 = host.hello("w2");
  REQUIRE(host.bridge.writes.size() == 1);
  CHECK(host.bridge.writes.front().expected == 9);
  host.answer_write(10);
  CHECK(type_of(w2.take()) == "hello");

  // Connected under a run of b that has ended (b's coordd was killed and
  // runs again): free too.
  host.entry("w3", "b", true, 11, "ended");
  FixtureClient& w3 = host.hello("w3");
  REQUIRE(host.bridge.writes.size() == 1);
  CHECK(host.bridge.writes.front().expected == 11);
  host.answer_write(12);
  CHECK(type_of(w3.take()) == "hello");
}

TEST_CASE(
    "of two hosts racing for one name, the one whose compare-and-set loses gets agent_taken") {
  Host host;
  host.registry_read();
  FixtureClient& w1 = host.hello("w1");
  REQUIRE(host.bridge.writes.size() == 1);
  host.conflict_write("b", true, 3);
  CHECK(w1.take().at("code") == "agent_taken");
  // The name is b's: a send goes through the swarm.
  FixtureClient& orch = host.held("orch", 4);
  orch.send({{"op", "send"},
             {"to", "w1"},
             {"message", {{"kind", "additional_context"}, {"content", "x"}}}});
  host.server.run();
  REQUIRE(host.bridge.published.size() == 1);
  CHECK(host.bridge.published.front().subject == "coord.unit.msg.to.w1.a");
}

TEST_CASE(
    "a send to a remote agent is sent once the stream stores it; mailbox_full and an "
    "unanswered publish are errors, and the connection's next request waits behind it") {
  Host host;
  host.registry_read();
  host.entry("w1", "b", true, 5);
  FixtureClient& orch = host.held("orch", 6);
  json::object message{{"kind", "additional_context"}, {"content", "x"}};
  orch.send({{"op", "send"}, {"req", 1}, {"to", "w1"}, {"message", message}});
  orch.send({{"op", "ping"}, {"req", 2}});
  host.server.run();
  CHECK(orch.lines().empty());
  REQUIRE(host.bridge.published.size() == 1);
  FakeMessageBridge::Publish first = host.bridge.published.front();
  std::optional<MessageValue> value = decode_message_value(first.body);
  REQUIRE(value);
  CHECK(value->from == "orch");
  CHECK(value->from_host == "a");
  CHECK(value->id == first.id);
  host.event(BridgeMessageAck{first.token, true, false, ""});
  json::object sent = orch.take();
  CHECK(type_of(sent) == "sent");
  CHECK(sent.at("req") == 1);
  CHECK(type_of(orch.take()) == "pong");

  orch.send({{"op", "send"}, {"to", "w1"}, {"message", message}});
  host.server.run();
  host.event(BridgeMessageAck{host.bridge.published.back().token, false, true, "per subject"});
  CHECK(orch.take().at("code") == "mailbox_full");
  orch.send({{"op", "send"}, {"to", "w1"}, {"message", message}});
  host.server.run();
  host.event(BridgeMessageAck{host.bridge.published.back().token, false, false, "timeout"});
  CHECK(orch.take().at("code") == "cluster_unavailable");

  orch.send({{"op", "send"}, {"to", "nobody"}, {"message", message}});
  host.server.run();
  CHECK(orch.lines().empty());  // asked of the registry's leader first
  host.answer_read(std::nullopt, 0);
  CHECK(orch.take().at("code") == "not_subscribed");
  // Disconnected longer than the mailbox TTL: gone.
  host.entry("w9", "b", false, 11);
  host.server.clock.advance(301s);
  orch.send({{"op", "send"}, {"to", "w9"}, {"message", message}});
  host.server.run();
  host.answer_read(AgentValue{"b", "e", false, "2026-03-30T15:00:00.000000Z"}, 11);
  CHECK(orch.take().at("code") == "not_subscribed");
  CHECK(host.bridge.published.size() == 3);
}

TEST_CASE(
    "a send to an agent not yet in this host's copy of the registry asks the registry's leader, "
    "and the sends behind it keep their order") {
  Host host;
  host.registry_read();
  FixtureClient& orch = host.held("orch", 6);
  FixtureClient& other = host.held("other", 7);
  json::object first{{"kind", "additional_context"}, {"content", "1"}};
  json::object second{{"kind", "additional_context"}, {"content", "2"}};
  // w1's hello on host b has been answered; the watch has not shown it here yet.
  orch.send({{"op", "send"}, {"to", "w1"}, {"message", first}});
  host.server.run();
  other.send({{"op", "send"}, {"to", "w1"}, {"message", second}});
  host.server.run();
  REQUIRE(host.bridge.reads.size() == 1);  // one lookup for both
  CHECK(host.bridge.reads.front().second == encode_name_part("w1"));
  CHECK(host.bridge.published.empty());
  host.answer_read(AgentValue{"b", "e", true, "2026-03-30T15:00:00.000000Z"}, 9);
  REQUIRE(host.bridge.published.size() == 2);
  CHECK(decode_message_value(host.bridge.published[0].body)->message.at("content") == "1");
  CHECK(decode_message_value(host.bridge.published[1].body)->message.at("content") == "2");
  CHECK(host.bridge.published[0].subject == mailbox_subject(kCluster, "w1", "a"));
  for (const FakeMessageBridge::Publish& publish : host.bridge.published) {
    host.event(BridgeMessageAck{publish.token, true, false, ""});
  }
  CHECK(type_of(orch.take()) == "sent");
  CHECK(type_of(other.take()) == "sent");
  // The entry read is the registry's now: the next send goes straight on.
  orch.send({{"op", "send"}, {"to", "w1"}, {"message", first}});
  host.server.run();
  CHECK(host.bridge.reads.empty());
  CHECK(host.bridge.published.size() == 3);
  CHECK(host.status().at("registry_agents") == 3);
  host.event(BridgeMessageAck{host.bridge.published.back().token, true, false, ""});
  CHECK(type_of(orch.take()) == "sent");

  // A leader that cannot be asked: cluster_unavailable, never a silent drop.
  orch.send({{"op", "send"}, {"to", "w2"}, {"message", first}});
  host.server.run();
  host.answer_read(std::nullopt, 0, "timeout");
  json::object failed = orch.take();
  CHECK(failed.at("code") == "cluster_unavailable");
  CHECK(std::string(failed.at("message").as_string()).find("timeout") != std::string::npos);
}

TEST_CASE(
    "pulled messages reach the agent once each, are acked only once handed over, and one "
    "from a sender the registry places elsewhere is refused") {
  Host host;
  host.registry_read();
  host.entry("orch", "b", true, 2);
  FixtureClient& w1 = host.held("w1", 3);
  w1.set_reading(false);
  host.pulled("w1", "b", "orch", "m1", 10);
  // Written to the connection (its kernel buffer has room): handed over, acked.
  CHECK(host.bridge.acks == std::vector<std::string>{"$JS.ACK.s.mb.10"});
  host.pulled("w1", "b", "orch", "m1", 10);  // redelivered (its ack was lost): acked again
  host.pulled("w1", "b", "orch", "m2", 11);
  CHECK(host.bridge.acks.size() == 3);
  host.pulled("w1", "c", "orch", "forged", 12);        // orch is b's agent, not c's
  CHECK(host.bridge.acks.size() == 4);                 // refused, and removed from the stream
  host.pulled("w1", "b", "orch", "m3", 13, "b:x:11");  // m2's id again: a sender's retry
  CHECK(host.bridge.acks.size() == 5);
  w1.set_reading(true);
  host.server.run();
  std::vector<std::string> got;
  while (!w1.lines().empty()) got.push_back(content_of(w1.take()));
  CHECK(got == std::vector<std::string>{"m1", "m2"});
  json::object messages = host.status();
  CHECK(messages.at("received") == 2);
  CHECK(messages.at("duplicates") == 2);
  CHECK(messages.at("refused") == 1);
}

TEST_CASE(
    "a message from a sender not yet in the registry waits for its entry, up to 2 s, "
    "holding back the ones behind it") {
  Host host;
  host.registry_read();
  FixtureClient& w1 = host.held("w1", 3);
  host.pulled("w1", "b", "newcomer", "first", 10);
  host.pulled("w1", "b", std::nullopt, "second", 11);  // anonymous: would pass at once
  CHECK(w1.lines().empty());
  host.entry("newcomer", "b", true, 4);
  REQUIRE(w1.lines().size() == 2);
  CHECK(content_of(w1.take()) == "first");
  CHECK(content_of(w1.take()) == "second");

  host.pulled("w1", "b", "ghost", "never", 12);
  host.server.advance(1900ms);
  CHECK(w1.lines().empty());
  host.server.advance(600ms);
  CHECK(w1.lines().empty());
  CHECK(host.bridge.acks.back() == "$JS.ACK.s.mb.12");  // refused, and removed
}

TEST_CASE(
    "when the registry shows the agent taken on another host, its connection here gets "
    "taken_over and its pulled messages stay in the stream") {
  Host host;
  host.registry_read();
  host.entry("orch", "b", true, 2);
  FixtureClient& w1 = host.held("w1", 3);
  w1.set_reading(false);
  for (int i = 0; i < 20; ++i) host.pulled("w1", "b", "orch", "m" + std::to_string(i), 10 + i);
  std::size_t acked = host.bridge.acks.size();
  CHECK(acked < 20);  // some wait in the mailbox, unacked
  host.entry("w1", "c", true, 4);
  w1.set_reading(true);
  host.server.run();
  CHECK(host.bridge.acks.size() == acked);  // the rest are the new holder's
  bool taken_over = false;
  while (!w1.lines().empty()) {
    json::object line = w1.take();
    if (type_of(line) == "error") taken_over = line.at("code") == "taken_over";
  }
  CHECK(taken_over);
  CHECK(w1.closed_by_server());
  REQUIRE_FALSE(host.bridge.closed.empty());
  CHECK(host.bridge.closed.back() == std::pair<std::string, bool>("w1", false));
}

TEST_CASE(
    "in a swarm a hello with mailbox false is refused with agent_elsewhere unless the agent's "
    "mailbox is on this host, and its sends then carry the agent as sender") {
  Host host;
  host.registry_read();
  host.entry("w1", "b", true, 5);
  FixtureClient& shell = host.server.connect();
  shell.send({{"op", "hello"}, {"agent", "w1"}, {"mailbox", false}});
  host.server.run();
  CHECK(shell.take().at("code") == "agent_elsewhere");

  FixtureClient& holder = host.held("orch", 6);
  FixtureClient& orch_shell = host.server.connect();
  orch_shell.send({{"op", "hello"}, {"agent", "orch"}, {"mailbox", false}});
  host.server.run();
  json::object hello = orch_shell.take();
  CHECK(type_of(hello) == "hello");
  CHECK(hello.at("mailbox") == false);
  orch_shell.send({{"op", "send"},
                   {"to", "w1"},
                   {"message", {{"kind", "additional_context"}, {"content", "from the shell"}}}});
  host.server.run();
  REQUIRE(host.bridge.published.size() == 1);
  CHECK(decode_message_value(host.bridge.published[0].body)->from == "orch");
  CHECK(holder.lines().empty());  // the holder keeps its mailbox
}

}  // namespace
}  // namespace coordd::testing
