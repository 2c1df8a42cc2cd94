// The original bus's tests, across processes: targeted delivery, broadcast to
// all, exclusivity, no retroactive messages, send to an unknown agent, and a
// removed subscriber. "Nothing else arrived" is shown by a later broadcast
// being the next line.
#include <doctest/doctest.h>

#include "tests/bus/bus_fixture.hpp"

namespace coordd::integration {
namespace {

TEST_CASE("a targeted message reaches its recipient and no other agent") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  EventReader w2 = connect_as(daemon, "w2");

  std::uint64_t seq = sent_seq(send(orch, "w1", context_message("for w1")));
  std::uint64_t marker = sent_seq(broadcast(orch, context_message("marker")));

  json::object got = next_line(w1);
  CHECK(got.at("type") == "message");
  CHECK(seq_of(got) == seq);
  CHECK(got.at("from") == "orch");
  CHECK(got.at("to") == "w1");
  CHECK(!got.contains("sub"));
  CHECK(content_of(got) == "for w1");
  CHECK(seq_of(next_line(w1)) == marker);
  CHECK(seq_of(next_line(w2)) == marker);    // the third agent heard nothing before it
  CHECK(seq_of(next_line(orch)) == marker);  // nor did the sender
}

TEST_CASE(
    "a broadcast reaches every connected agent and every tap, the sender too, and counts them") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  EventReader w2 = connect_as(daemon, "w2");
  EventReader dashboard = daemon.connect();
  std::uint64_t tap = dashboard.subscribe({{"events", false}, {"messages", "broadcast"}}).sub;

  json::object reply = broadcast(orch, context_message("all hands"));

  std::uint64_t seq = sent_seq(reply);
  CHECK(reply.at("recipients") == 4);
  for (EventReader* agent : {&orch, &w1, &w2}) {
    json::object got = next_line(*agent);
    CHECK(seq_of(got) == seq);
    CHECK(got.at("to") == "*");
    CHECK(got.at("from") == "orch");
    CHECK(content_of(got) == "all hands");
  }
  json::object tapped = next_line(dashboard);
  CHECK(seq_of(tapped) == seq);
  CHECK(tapped.at("sub") == tap);
}

TEST_CASE("each agent receives exactly the messages sent to it, and none sent to another") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  EventReader w2 = connect_as(daemon, "w2");

  for (std::string_view content : {"a1", "b1", "a2", "b2"}) {
    sent_seq(send(orch, content[0] == 'a' ? "w1" : "w2", context_message(content)));
  }
  sent_seq(broadcast(orch, context_message("marker")));

  auto heard = [](EventReader& reader) {
    std::vector<std::string> contents;
    for (int i = 0; i < 3; ++i) contents.push_back(content_of(next_line(reader)));
    return contents;
  };
  CHECK(heard(w1) == std::vector<std::string>{"a1", "a2", "marker"});
  CHECK(heard(w2) == std::vector<std::string>{"b1", "b2", "marker"});
}

TEST_CASE("an agent or tap that connects after a broadcast does not receive it") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  sent_seq(broadcast(orch, context_message("before you came")));

  EventReader late = daemon.connect();
  json::object hello = hello_as(late, "late");
  EventReader late_tap = daemon.connect();
  late_tap.subscribe({{"events", false}, {"messages", "all"}});
  std::uint64_t after = sent_seq(broadcast(orch, context_message("after")));

  CHECK(hello.at("waiting") == 0);
  CHECK(seq_of(next_line(late)) == after);
  CHECK(seq_of(next_line(late_tap)) == after);
}

TEST_CASE("a send to an agent that never said hello fails with not_subscribed") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");

  json::object reply = send(orch, "ghost", context_message("anyone there?"));

  CHECK(error_code(reply) == "not_subscribed");
  CHECK(error_text(reply).find("ghost") != std::string::npos);
  CHECK(orch.call({{"op", "ping"}}).at("type") == "pong");
}

// The mailbox TTL is tested in process, on a fake clock, by
// tests/unit/server_rules_test.cpp.

}  // namespace
}  // namespace coordd::integration
