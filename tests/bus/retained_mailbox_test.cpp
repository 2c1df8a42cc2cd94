// Mailboxes that outlive a disconnect: messages sent while an agent is away
// wait for its next hello, bounded by --mailbox-max-messages and
// --mailbox-max-bytes, with mailbox_full as back-pressure to the sender.
#include <doctest/doctest.h>

#include <optional>

#include "tests/bus/bus_fixture.hpp"

namespace coordd::integration {
namespace {

// Says hello as `agent` on a connection, closes it, and waits until coordd
// has noticed, so that what is sent next waits in the retained mailbox.
void visit_and_leave(const DaemonProcess& daemon, EventReader& observer, std::string_view agent,
                     std::size_t agents_remaining) {
  { EventReader visit = connect_as(daemon, agent); }
  wait_for_connected_agents(observer, agents_remaining);
}

TEST_CASE(
    "an agent that reconnects within the TTL gets its waiting messages in order, exactly once") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  visit_and_leave(daemon, orch, "w1", 1);
  std::vector<std::uint64_t> sent;
  for (std::string_view content : {"m1", "m2", "m3"}) {
    sent.push_back(sent_seq(send(orch, "w1", context_message(content))));
  }

  EventReader w1 = daemon.connect();
  json::object hello = hello_as(w1, "w1");

  CHECK(hello.at("waiting") == 3);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    json::object got = next_line(w1);
    CHECK(seq_of(got) == sent[i]);
    CHECK(content_of(got) == "m" + std::to_string(i + 1));
  }
  std::uint64_t marker = sent_seq(broadcast(orch, context_message("marker")));
  CHECK(seq_of(next_line(w1)) == marker);  // nothing delivered twice
}

TEST_CASE(
    "a send to an away agent whose mailbox holds --mailbox-max-messages fails with mailbox_full") {
  Workspace ws;
  DaemonProcess daemon(ws, {"--mailbox-max-messages", "3"});
  EventReader orch = connect_as(daemon, "orch");
  visit_and_leave(daemon, orch, "w1", 1);
  for (std::string_view content : {"m1", "m2", "m3"}) {
    sent_seq(send(orch, "w1", context_message(content)));
  }

  json::object refused = send(orch, "w1", context_message("m4"));

  CHECK(error_code(refused) == "mailbox_full");
  CHECK(error_text(refused).find("w1") != std::string::npos);
  // Nothing was dropped: the three arrive, and the mailbox takes more again.
  EventReader w1 = daemon.connect();
  CHECK(hello_as(w1, "w1").at("waiting") == 3);
  for (std::string_view content : {"m1", "m2", "m3"}) CHECK(content_of(next_line(w1)) == content);
  std::uint64_t retried = sent_seq(send(orch, "w1", context_message("m4")));
  CHECK(seq_of(next_line(w1)) == retried);
}

TEST_CASE(
    "a send that would take an away agent's mailbox past --mailbox-max-bytes fails with "
    "mailbox_full") {
  Workspace ws;
  DaemonProcess daemon(ws, {"--mailbox-max-bytes", "2048"});
  EventReader orch = connect_as(daemon, "orch");
  visit_and_leave(daemon, orch, "w1", 1);
  std::string half_a_mailbox(900, 'x');

  sent_seq(send(orch, "w1", context_message(half_a_mailbox)));
  json::object refused = send(orch, "w1", context_message(half_a_mailbox));

  CHECK(error_code(refused) == "mailbox_full");
  CHECK(sent_seq(send(orch, "w1", context_message("small"))) > 0);
}

}  // namespace
}  // namespace coordd::integration
