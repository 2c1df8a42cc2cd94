// The server's rules about time and order, in process on a fake clock
// (ServerFixture): slow-consumer grace, mailbox TTL, takeover, lag-marker
// ordering, and the snapshot -> replay -> live hand-over.
#include <doctest/doctest.h>

#include <set>

#include "tests/unit/server_fixture.hpp"

namespace coordd::testing {
namespace {
namespace json = boost::json;
using namespace std::chrono_literals;

json::object context_message(std::string_view content) {
  return {{"kind", "additional_context"}, {"content", content}};
}

std::uint64_t seq_of(const json::object& line) { return line.at("seq").to_number<std::uint64_t>(); }
std::string type_of(const json::object& line) { return std::string(line.at("type").as_string()); }

FixtureClient& agent(ServerFixture& server, std::string_view name, bool takeover = false) {
  FixtureClient& client = server.connect();
  client.send({{"op", "hello"}, {"agent", name}, {"takeover", takeover}});
  server.run();
  return client;
}

// A tap on every message that stops reading once subscribed.
FixtureClient& stalled_tap(ServerFixture& server) {
  FixtureClient& tap = server.connect();
  tap.send({{"op", "subscribe"}, {"events", false}, {"messages", "all"}});
  server.run();
  REQUIRE(type_of(tap.take_until("snapshot_end")) == "snapshot_end");
  tap.set_reading(false);
  return tap;
}

void broadcast_many(ServerFixture& server, FixtureClient& from, int count) {
  for (int i = 0; i < count; ++i) {
    from.send({{"op", "broadcast"}, {"message", context_message(std::string(300, 'x'))}});
    server.run();
  }
}

TEST_CASE("a client that stays behind is cut off with slow_consumer when its grace has passed") {
  ServerFixture server;
  FixtureClient& tap = stalled_tap(server);
  FixtureClient& orch = agent(server, "orch");
  broadcast_many(server, orch, 64);  // far more than the queue and the kernel hold

  server.advance(server.limits.connection.slow_consumer_grace - 1ms);
  CHECK(server.connections() == 2);  // not yet

  server.advance(1ms);
  tap.set_reading(true);
  server.run();
  REQUIRE_FALSE(tap.lines().empty());
  json::object last = tap.lines().back();
  CHECK(type_of(last) == "error");
  CHECK(last.at("code") == "slow_consumer");
  CHECK(tap.closed_by_server());
  CHECK(server.connections() == 1);
}

TEST_CASE("a client that catches up within its grace keeps its connection, with a lagged marker") {
  ServerFixture server;
  FixtureClient& tap = stalled_tap(server);
  FixtureClient& orch = agent(server, "orch");
  broadcast_many(server, orch, 64);

  server.advance(server.limits.connection.slow_consumer_grace / 2);
  tap.set_reading(true);
  server.run();
  server.advance(server.limits.connection.slow_consumer_grace);

  CHECK_FALSE(tap.closed_by_server());
  bool lagged = false;
  for (const json::object& line : tap.lines()) {
    CHECK(type_of(line) != "error");
    lagged = lagged || type_of(line) == "lagged";
  }
  CHECK(lagged);
}

TEST_CASE("a lagged marker comes before any later message, and seqs only increase") {
  ServerFixture server;
  FixtureClient& tap = stalled_tap(server);
  FixtureClient& orch = agent(server, "orch");
  broadcast_many(server, orch, 64);
  tap.set_reading(true);
  server.run();
  broadcast_many(server, orch, 1);

  std::uint64_t last = 0;
  bool marker_seen = false;
  std::uint64_t gap_to = 0;
  for (const json::object& line : tap.lines()) {
    if (type_of(line) == "lagged") {
      CHECK(line.at("from_seq").to_number<std::uint64_t>() > last);
      last = gap_to = line.at("to_seq").to_number<std::uint64_t>();
      marker_seen = true;
    } else if (type_of(line) == "message") {
      CHECK(seq_of(line) > last);
      last = seq_of(line);
    }
  }
  REQUIRE(marker_seen);
  CHECK(last > gap_to);  // the broadcast after the gap arrived after the marker
}

TEST_CASE("status lists every agent with a mailbox here: connected or away, and what waits") {
  ServerFixture server;
  FixtureClient& orch = agent(server, "orch");
  FixtureClient& w1 = agent(server, "w1");
  w1.socket().close();
  server.run();
  orch.send({{"op", "send"}, {"to", "w1"}, {"message", context_message("kept")}});
  server.run();
  REQUIRE(type_of(orch.take_until("sent")) == "sent");

  orch.send({{"op", "status"}});
  server.run();
  json::array list = orch.take_until("status").at("agents").at("list").as_array();
  REQUIRE(list.size() == 2);
  CHECK(list[0] == json::value{{"agent", "orch"}, {"connected", true}, {"waiting", 0}});
  CHECK(list[1] == json::value{{"agent", "w1"}, {"connected", false}, {"waiting", 1}});
}

TEST_CASE("an away agent's mailbox waits for the TTL, then senders get not_subscribed") {
  ServerFixture server;
  FixtureClient& orch = agent(server, "orch");
  FixtureClient& w1 = agent(server, "w1");
  w1.socket().close();
  server.run();

  orch.send({{"op", "send"}, {"to", "w1"}, {"message", context_message("kept")}});
  server.run();
  CHECK(type_of(orch.take_until("sent")) == "sent");

  server.advance(server.limits.messages.mailbox_ttl - 1ms);
  orch.send({{"op", "send"}, {"to", "w1"}, {"message", context_message("still kept")}});
  server.run();
  CHECK(type_of(orch.take()) == "sent");

  server.advance(1ms);
  orch.send({{"op", "send"}, {"to", "w1"}, {"message", context_message("too late")}});
  server.run();
  json::object refused = orch.take();
  CHECK(type_of(refused) == "error");
  CHECK(refused.at("code") == "not_subscribed");
  // The expired mailbox went with its messages: a new hello finds none.
  CHECK(agent(server, "w1").take().at("waiting") == 0);
}

TEST_CASE("an agent back within the TTL gets what waited, in order, after its hello reply") {
  ServerFixture server;
  FixtureClient& orch = agent(server, "orch");
  agent(server, "w1").socket().close();
  server.run();
  for (std::string_view content : {"m1", "m2"}) {
    orch.send({{"op", "send"}, {"to", "w1"}, {"message", context_message(content)}});
    server.run();
  }
  server.advance(server.limits.messages.mailbox_ttl / 2);

  FixtureClient& back = agent(server, "w1");

  json::object hello = back.take();
  CHECK(type_of(hello) == "hello");
  CHECK(hello.at("waiting") == 2);
  CHECK(back.take().at("message").at("content") == "m1");
  CHECK(back.take().at("message").at("content") == "m2");
}

TEST_CASE("hello with takeover closes the old connection with taken_over; without, agent_taken") {
  ServerFixture server;
  FixtureClient& first = agent(server, "w1");
  FixtureClient& refused = agent(server, "w1");
  json::object error = refused.take();
  CHECK(error.at("code") == "agent_taken");

  FixtureClient& second = agent(server, "w1", true);

  CHECK(type_of(second.take()) == "hello");
  CHECK(first.lines().back().at("code") == "taken_over");
  CHECK(first.closed_by_server());
}

TEST_CASE("a change made while a snapshot streams comes once, after snapshot_end, in seq order") {
  ServerFixture server;
  for (int i = 0; i < 40; ++i) {
    server.write_record("intents", "i" + std::to_string(i), {{"intent_id", i}});
  }
  server.run();
  FixtureClient& client = server.connect();
  client.set_reading(false);  // the snapshot streams as the client drains
  client.send({{"op", "subscribe"}, {"kinds", "intent"}});
  server.run();
  server.write_record("intents", "i3", {{"intent_id", 3}, {"changed", true}});
  server.write_record("intents", "i40", {{"intent_id", 40}});
  server.run();
  client.set_reading(true);
  server.run();

  json::object subscribed = client.take();
  std::uint64_t last = 0;
  std::set<std::string> snapshot_ids;
  for (json::object line = client.take(); type_of(line) != "snapshot_end"; line = client.take()) {
    CHECK(line.at("event_type") == "snapshot");
    CHECK(seq_of(line) > last);
    CHECK(seq_of(line) <= seq_of(subscribed));
    last = seq_of(line);
    snapshot_ids.insert(std::string(line.at("id").as_string()));
  }
  // i3 is a snapshot event if it streamed before it changed, else only its change.
  snapshot_ids.insert("i3");
  CHECK(snapshot_ids.size() == 40);
  std::vector<std::string> after;
  while (!client.lines().empty()) {
    json::object line = client.take();
    CHECK(seq_of(line) > std::max(last, seq_of(subscribed)));
    last = seq_of(line);
    after.push_back(std::string(line.at("event_type").as_string()) + " " +
                    std::string(line.at("id").as_string()));
  }
  CHECK(after == std::vector<std::string>{"modified i3", "added i40"});
}

}  // namespace
}  // namespace coordd::testing

namespace coordd::testing {
namespace {

ServerLimits with_total(std::size_t total_bytes) {
  ServerLimits limits = ServerFixture::small_limits();
  limits.messages.mailbox_total_bytes = total_bytes;
  return limits;
}

// Sends 1000-byte messages to `to` until one is refused; returns how many
// were taken, and the refusal in `refused`.
std::size_t send_until_refused(ServerFixture& server, FixtureClient& from, std::string_view to,
                               json::object& refused) {
  for (std::size_t taken = 0;; ++taken) {
    from.send({{"op", "send"},
               {"to", to},
               {"message", context_message(std::to_string(taken) + std::string(1000, 'x'))}});
    server.run();
    json::object reply = from.take();
    if (type_of(reply) != "sent") {
      refused = reply;
      return taken;
    }
  }
}

TEST_CASE(
    "all mailboxes together hold at most --mailbox-total-max-bytes: a send beyond it gets "
    "mailbox_full, even to an empty mailbox, and nothing taken is lost") {
  ServerFixture server(with_total(4096));
  FixtureClient& orch = agent(server, "orch");
  orch.take_until("hello");
  agent(server, "w1").socket().close();
  agent(server, "w2").socket().close();
  server.run();

  json::object refused;
  std::size_t taken = send_until_refused(server, orch, "w1", refused);
  REQUIRE(taken >= 2);
  CHECK(taken < server.limits.messages.mailbox_messages);  // not w1's own bound
  CHECK(refused.at("code") == "mailbox_full");
  json::object other;
  CHECK(send_until_refused(server, orch, "w2", other) == 0);
  CHECK(other.at("code") == "mailbox_full");
  CHECK(std::string(other.at("message").as_string()).find("--mailbox-total-max-bytes") !=
        std::string::npos);

  orch.send({{"op", "status"}});
  server.run();
  json::object status = orch.take();
  CHECK(status.at("limits").at("mailbox_total_max_bytes") == 4096);
  CHECK(status.at("agents").at("mailbox_bytes").to_number<std::size_t>() > 3000);
  CHECK(status.at("agents").at("mailbox_bytes").to_number<std::size_t>() <= 4096);

  FixtureClient& back = agent(server, "w1");
  CHECK(back.take().at("waiting") == taken);
  for (std::size_t i = 0; i < taken; ++i) {
    std::string content(back.take().at("message").at("content").as_string());
    CHECK(content.starts_with(std::to_string(i) + "x"));
  }
  orch.send({{"op", "send"}, {"to", "w2"}, {"message", context_message("room again")}});
  server.run();
  CHECK(type_of(orch.take()) == "sent");
}

TEST_CASE(
    "a broadcast that does not fit under --mailbox-total-max-bytes is owed to a connected agent "
    "as a lagged marker") {
  ServerFixture server(with_total(4096));
  FixtureClient& orch = agent(server, "orch");
  orch.take_until("hello");
  agent(server, "away").socket().close();
  FixtureClient& w2 = agent(server, "w2");
  server.run();
  w2.take_until("hello");
  json::object refused;
  send_until_refused(server, orch, "away", refused);

  orch.send({{"op", "broadcast"}, {"message", context_message(std::string(1000, 'b'))}});
  server.run();
  json::object sent = orch.take_until("sent");

  json::object marker = w2.take();
  CHECK(type_of(marker) == "lagged");
  CHECK(marker.at("mailbox") == "w2");
  CHECK(marker.at("from_seq") == sent.at("seq"));
  CHECK(marker.at("dropped") == 1);
}

}  // namespace
}  // namespace coordd::testing
