// Who an agent is: one live connection per agent id (agent_taken, takeover),
// `from` set by coordd and never by the client, and agent_id that must be
// the sender's own.
#include <doctest/doctest.h>

#include "tests/bus/bus_fixture.hpp"

namespace coordd::integration {
namespace {

TEST_CASE("a second hello as a connected agent without takeover fails with agent_taken") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  EventReader impostor = daemon.connect();

  json::object refused = hello_as(impostor, "w1");

  CHECK(error_code(refused) == "agent_taken");
  CHECK(error_text(refused).find("takeover") != std::string::npos);
  std::uint64_t seq = sent_seq(send(orch, "w1", context_message("still yours")));
  CHECK(seq_of(next_line(w1)) == seq);
}

TEST_CASE("a hello with takeover closes the old connection with taken_over and gets what follows") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader old = connect_as(daemon, "w1");
  EventReader fresh = daemon.connect();

  json::object hello = hello_as(fresh, "w1", true);

  CHECK(hello.at("type") == "hello");
  std::vector<std::string> last_words = old.read_until_closed();
  REQUIRE(last_words.size() == 1);
  json::value error = json::parse(last_words.at(0));
  CHECK(error.at("type") == "error");
  CHECK(error.at("code") == "taken_over");
  std::uint64_t seq = sent_seq(send(orch, "w1", context_message("to the new one")));
  CHECK(seq_of(next_line(fresh)) == seq);
}

TEST_CASE("an agent_id naming another agent is rejected with bad_message and delivers nothing") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  EventReader w2 = connect_as(daemon, "w2");

  json::object refused = send(w1, "orch",
                              {{"kind", "task_completed"},
                               {"agent_id", "w2"},
                               {"task_id", "t1"},
                               {"summary", "done, says w2 (really w1)"}});

  CHECK(error_code(refused) == "bad_message");
  CHECK(error_text(refused).find("agent_id") != std::string::npos);
  std::uint64_t marker = sent_seq(broadcast(w1, context_message("marker")));
  CHECK(seq_of(next_line(orch)) == marker);
}

TEST_CASE("from is the sender's agent id, filled in by coordd, whatever the request says") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");

  json::object request{{"op", "send"},
                       {"to", "orch"},
                       {"from", "w2"},
                       {"message", {{"kind", "progress_report"}, {"turn", 4}, {"summary", "ok"}}}};
  std::uint64_t seq = sent_seq(w1.call(std::move(request)));

  json::object got = next_line(orch);
  CHECK(seq_of(got) == seq);
  CHECK(got.at("from") == "w1");
  CHECK(got.at("message").at("agent_id") == "w1");  // filled in from the hello
}

TEST_CASE("an anonymous sender's messages carry from null") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader w1 = connect_as(daemon, "w1");
  EventReader anonymous = daemon.connect();

  json::object request{
      {"op", "send"}, {"to", "w1"}, {"from", "orch"}, {"message", context_message("who am I?")}};
  std::uint64_t targeted = sent_seq(anonymous.call(std::move(request)));
  json::object reply = broadcast(anonymous, context_message("nobody"));

  json::object got = next_line(w1);
  CHECK(seq_of(got) == targeted);
  CHECK(got.at("from").is_null());
  json::object broadcasted = next_line(w1);
  CHECK(seq_of(broadcasted) == sent_seq(reply));
  CHECK(broadcasted.at("from").is_null());
  CHECK(reply.at("recipients") == 1);  // w1 only: an anonymous sender without a tap hears nothing
}

}  // namespace
}  // namespace coordd::integration
