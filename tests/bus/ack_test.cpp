// Acknowledged delivery (PROTOCOL.md, "Acknowledged delivery"): a message
// stays in its mailbox until the client acks it, comes again, marked, to
// the agent's next connection when it was not acked, never again once it
// was; `credit` bounds what is delivered and unacked; and a connection may
// send as an agent without its mailbox.
#include <doctest/doctest.h>

#include <optional>

#include "tests/bus/bus_fixture.hpp"

namespace coordd::integration {
namespace {

json::object hello_acking(EventReader& reader, std::string_view agent,
                          std::optional<int> credit = std::nullopt, bool takeover = false) {
  json::object hello{{"op", "hello"}, {"agent", agent}, {"ack", true}};
  if (credit) hello["credit"] = *credit;
  if (takeover) hello["takeover"] = true;
  json::object reply = reader.call(std::move(hello));
  REQUIRE_MESSAGE(reply.at("type") == "hello", json::serialize(reply));
  CHECK(reply.at("ack") == true);
  return reply;
}

json::object ack(EventReader& reader, std::string_view field, std::uint64_t seq) {
  return reader.call({{"op", "ack"}, {field, seq}});
}

// The next line is the pong of a ping: nothing else was delivered before it.
void expect_nothing_more(EventReader& reader) {
  reader.send_line(R"({"op":"ping","req":"nothing-more"})");
  json::object line = next_line(reader);
  CHECK_MESSAGE(line.at("type") == "pong", json::serialize(line));
}

void wait_until_away(EventReader& observer, std::size_t still_connected) {
  wait_for_connected_agents(observer, still_connected);
}

TEST_CASE(
    "a message delivered to an acking client that closes without acking comes again, marked, to "
    "the agent's next connection; once acked it never comes again") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  std::uint64_t first = 0;
  {
    EventReader w1 = daemon.connect();
    CHECK(hello_acking(w1, "w1").at("waiting") == 0);
    first = sent_seq(send(orch, "w1", context_message("m1")));
    json::object got = next_line(w1);
    CHECK(seq_of(got) == first);
    CHECK_FALSE(got.contains("redelivered"));
  }  // closed without an ack
  wait_until_away(orch, 1);
  std::uint64_t second = sent_seq(send(orch, "w1", context_message("m2")));

  EventReader w1 = daemon.connect();
  CHECK(hello_acking(w1, "w1").at("waiting") == 2);
  json::object again = next_line(w1);
  CHECK(seq_of(again) == first);  // its seq and timestamp are its own
  CHECK(content_of(again) == "m1");
  CHECK(again.at("redelivered") == true);
  json::object next = next_line(w1);
  CHECK(seq_of(next) == second);
  CHECK_FALSE(next.contains("redelivered"));

  json::object acked = ack(w1, "upto", second);
  CHECK(acked.at("type") == "acked");
  CHECK(acked.at("acked") == 2);
  CHECK(acked.at("unacked") == 0);
  CHECK(ack(w1, "seq", first).at("acked") == 0);  // acks repeat harmlessly
  w1 = daemon.connect();                          // the old one closes
  wait_until_away(orch, 1);
  json::object hello = hello_acking(w1, "w1");
  CHECK(hello.at("waiting") == 0);
  expect_nothing_more(w1);
}

TEST_CASE(
    "with credit 1 the next message comes only once the previous one is acked, and the rest "
    "stay waiting for the next connection") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = daemon.connect();
  CHECK(hello_acking(w1, "w1", 1).at("credit") == 1);
  std::vector<std::uint64_t> seqs;
  for (std::string_view content : {"m1", "m2", "m3"}) {
    seqs.push_back(sent_seq(send(orch, "w1", context_message(content))));
  }
  CHECK(seq_of(next_line(w1)) == seqs[0]);
  expect_nothing_more(w1);  // m2 waits for the ack
  json::object acked = ack(w1, "seq", seqs[0]);
  CHECK(acked.at("acked") == 1);
  CHECK(seq_of(next_line(w1)) == seqs[1]);
  expect_nothing_more(w1);
  // Broadcasts are not acked and take no credit, but keep mailbox order:
  // this one waits behind m3, in the agent's mailbox.
  std::uint64_t marker = sent_seq(broadcast(orch, context_message("marker")));
  w1 = daemon.connect();  // closes with m2 unacked
  wait_until_away(orch, 1);

  // Without acks (an old client): m2 again, then m3 and the marker.
  json::object hello = hello_as(w1, "w1");
  CHECK(hello.at("waiting") == 3);
  json::object m2 = next_line(w1);
  CHECK(seq_of(m2) == seqs[1]);
  CHECK(m2.at("redelivered") == true);
  CHECK(seq_of(next_line(w1)) == seqs[2]);
  CHECK(seq_of(next_line(w1)) == marker);
  expect_nothing_more(w1);
  // Handed to a client that does not ack, they are done.
  w1 = daemon.connect();
  wait_until_away(orch, 1);
  CHECK(hello_as(w1, "w1").at("waiting") == 0);
}

TEST_CASE("a takeover hands the old connection's unacked messages to the new one first") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader old_conn = daemon.connect();
  hello_acking(old_conn, "w1");
  std::uint64_t seq = sent_seq(send(orch, "w1", context_message("m1")));
  CHECK(seq_of(next_line(old_conn)) == seq);

  EventReader new_conn = daemon.connect();
  json::object hello = hello_acking(new_conn, "w1", std::nullopt, true);
  CHECK(hello.at("waiting") == 1);
  json::object again = next_line(new_conn);
  CHECK(seq_of(again) == seq);
  CHECK(again.at("redelivered") == true);
  // The old connection's ack comes too late: it no longer holds the mailbox.
  CHECK(error_code(old_conn.read_until(line_of_type("error")).back()) == "taken_over");
}

TEST_CASE("ack on a connection that does not ack, and malformed acks, are bad_field") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader plain = connect_as(daemon, "plain");
  CHECK(error_code(ack(plain, "seq", 1)) == "bad_field");
  EventReader w1 = daemon.connect();
  hello_acking(w1, "w1");
  CHECK(error_code(w1.call({{"op", "ack"}})) == "bad_field");
  CHECK(error_code(w1.call({{"op", "ack"}, {"seq", 1}, {"upto", 2}})) == "bad_field");
  EventReader w2 = daemon.connect();
  CHECK(error_code(w2.call({{"op", "hello"}, {"agent", "w2"}, {"credit", 0}, {"ack", true}})) ==
        "bad_field");
  CHECK(error_code(w2.call({{"op", "hello"}, {"agent", "w2"}, {"credit", 3}})) == "bad_field");
  CHECK(error_code(w2.call({{"op", "hello"}, {"ack", true}})) == "bad_field");
  CHECK(error_code(w2.call(
            {{"op", "hello"}, {"agent", "w2"}, {"ack", true}, {"mailbox", false}})) == "bad_field");
}

TEST_CASE("an unacked message stays in the message log: after coordd is killed it comes again") {
  Workspace ws;
  std::optional<DaemonProcess> daemon(std::in_place, ws);
  EventReader orch = daemon->connect();
  EventReader w1 = daemon->connect();
  hello_acking(w1, "w1");
  std::uint64_t seq = sent_seq(send(orch, "w1", context_message("unacked")));
  CHECK(seq_of(next_line(w1)) == seq);
  daemon->kill();

  daemon.emplace(ws);
  EventReader again = daemon->connect();
  CHECK(hello_acking(again, "w1").at("waiting") == 1);
  json::object line = next_line(again);
  CHECK(content_of(line) == "unacked");
  CHECK(ack(again, "seq", seq_of(line)).at("acked") == 1);
}

TEST_CASE(
    "a hello with mailbox false sends as its agent while another connection holds the mailbox, "
    "and receives none of its messages") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader holder = connect_as(daemon, "w1");
  EventReader shell = daemon.connect();
  json::object hello = shell.call({{"op", "hello"}, {"agent", "w1"}, {"mailbox", false}});
  REQUIRE_MESSAGE(hello.at("type") == "hello", json::serialize(hello));
  CHECK(hello.at("mailbox") == false);
  CHECK_FALSE(hello.contains("waiting"));

  std::uint64_t seq = sent_seq(send(shell, "orch", context_message("from the shell")));
  json::object got = next_line(orch);
  CHECK(seq_of(got) == seq);
  CHECK(got.at("from") == "w1");
  std::uint64_t to_w1 = sent_seq(send(orch, "w1", context_message("for the holder")));
  CHECK(seq_of(next_line(holder)) == to_w1);
  expect_nothing_more(shell);
  // The name is fixed for this connection.
  CHECK(error_code(hello_as(shell, "w2")) == "bad_field");
}

}  // namespace
}  // namespace coordd::integration
