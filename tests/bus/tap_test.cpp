// Taps: subscriptions that watch the bus ("messages":"broadcast" or "all",
// restricted with "agents").
#include <doctest/doctest.h>

#include "tests/bus/bus_fixture.hpp"

namespace coordd::integration {
namespace {

TEST_CASE("a tap on broadcasts sees broadcasts and not targeted messages") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  Tap dashboard = connect_tap(daemon, {{"messages", "broadcast"}});

  sent_seq(send(orch, "w1", context_message("private")));
  std::uint64_t seq = sent_seq(broadcast(orch, context_message("public")));

  json::object got = next_line(dashboard.reader);
  CHECK(seq_of(got) == seq);
  CHECK(got.at("sub") == dashboard.sub);
  CHECK(got.at("to") == "*");
}

TEST_CASE("a tap on all messages sees targeted traffic between other agents") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  Tap dashboard = connect_tap(daemon, {{"messages", "all"}});

  std::uint64_t seq = sent_seq(
      send(w1, "orch", {{"kind", "progress_report"}, {"turn", 2}, {"summary", "tests pass"}}));

  json::object got = next_line(dashboard.reader);
  CHECK(got.at("type") == "message");
  CHECK(got.at("sub") == dashboard.sub);
  CHECK(seq_of(got) == seq);
  CHECK(got.at("from") == "w1");
  CHECK(got.at("to") == "orch");
  CHECK(got.at("message").at("summary") == "tests pass");
}

TEST_CASE("a tap restricted with agents sees only the messages from or to those agents") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  EventReader w2 = connect_as(daemon, "w2");
  Tap w1_watcher = connect_tap(daemon, {{"messages", "all"}, {"agents", json::array{"w1"}}});

  std::vector<std::uint64_t> involving_w1;
  sent_seq(send(orch, "w2", context_message("not about w1")));
  involving_w1.push_back(sent_seq(send(orch, "w1", context_message("to w1"))));
  sent_seq(send(w2, "orch", context_message("from w2")));
  involving_w1.push_back(sent_seq(send(w1, "orch", context_message("from w1"))));
  sent_seq(broadcast(w2, context_message("w2 to all")));
  involving_w1.push_back(sent_seq(broadcast(w1, context_message("w1 to all"))));

  std::vector<std::uint64_t> seen;
  for (const json::object& line :
       w1_watcher.reader.read_until(message_with_seq(involving_w1.back()))) {
    seen.push_back(seq_of(line));
  }
  CHECK(seen == involving_w1);
}

TEST_CASE("a tap on an agent's own connection does not repeat what its mailbox delivers") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  EventReader w2 = connect_as(daemon, "w2");
  std::uint64_t sub = w1.subscribe({{"events", false}, {"messages", "all"}}).sub;

  std::uint64_t to_w1 = sent_seq(send(orch, "w1", context_message("to w1")));
  std::uint64_t to_all = sent_seq(broadcast(orch, context_message("to all")));
  std::uint64_t to_w2 = sent_seq(send(orch, "w2", context_message("to w2")));
  std::uint64_t marker = sent_seq(broadcast(orch, context_message("marker")));

  std::vector<json::object> lines = w1.read_until(message_with_seq(marker));
  REQUIRE(lines.size() == 4);
  CHECK((seq_of(lines[0]) == to_w1 && !lines[0].contains("sub")));
  CHECK((seq_of(lines[1]) == to_all && !lines[1].contains("sub")));
  CHECK((seq_of(lines[2]) == to_w2 && lines[2].at("sub") == sub));
  CHECK((seq_of(lines[3]) == marker && !lines[3].contains("sub")));
}

}  // namespace
}  // namespace coordd::integration
