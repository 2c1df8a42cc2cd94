// Bad messages over the socket: each of the nine kinds with a field missing
// or of the wrong type, an unknown kind, no kind, no message: each gets
// bad_message naming the field, and nothing reaches the recipient.
#include <doctest/doctest.h>

#include "tests/bus/bus_fixture.hpp"

namespace coordd::integration {
namespace {

struct BadMessage {
  json::object message;
  std::string field;  // the field the error must name
};

const json::object kNode{{"id", "n1"}, {"title", "split the parser"}};

// Each kind with one field missing (agent_id is filled in, so never missing).
std::vector<BadMessage> missing_fields() {
  return {
      {{{"kind", "progress_report"}, {"summary", "halfway"}}, "turn"},
      {{{"kind", "task_completed"}, {"task_id", "t1"}}, "summary"},
      {{{"kind", "task_blocked"}, {"task_id", "t1"}}, "reason"},
      {{{"kind", "needs_decision"}, {"task_id", "t1"}}, "decision"},
      {{{"kind", "node_created"}, {"node", kNode}}, "parent_id"},
      {{{"kind", "cancel"}}, "reason"},
      {{{"kind", "additional_context"}}, "content"},
      {{{"kind", "review_request"}, {"work_package_id", "wp1"}}, "changed_files"},
      {{{"kind", "review_feedback"}, {"approved", true}}, "comments"},
  };
}

// Each kind with one field of the wrong type.
std::vector<BadMessage> wrong_types() {
  return {
      {{{"kind", "progress_report"}, {"turn", -2}, {"summary", "halfway"}}, "turn"},
      {{{"kind", "task_completed"}, {"task_id", 7}, {"summary", "done"}}, "task_id"},
      {{{"kind", "task_blocked"}, {"agent_id", 1}, {"task_id", "t1"}, {"reason", "flaky"}},
       "agent_id"},
      {{{"kind", "needs_decision"}, {"task_id", "t1"}, {"decision", "pick"}}, "decision"},
      {{{"kind", "node_created"}, {"parent_id", "p1"}, {"node", json::array{}}}, "node"},
      {{{"kind", "cancel"}, {"reason", false}}, "reason"},
      {{{"kind", "additional_context"}, {"content", json::array{"a"}}}, "content"},
      {{{"kind", "review_request"}, {"work_package_id", "wp1"}, {"changed_files", "a.cpp"}},
       "changed_files"},
      {{{"kind", "review_feedback"}, {"approved", "yes"}, {"comments", json::array{}}}, "approved"},
  };
}

// Sends each bad message from w1 to orch: each is refused naming its field,
// and orch's next line is the marker broadcast that follows them all.
void check_all_refused(const std::vector<BadMessage>& bad_messages) {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");

  for (const BadMessage& bad : bad_messages) {
    std::string sent = json::serialize(bad.message);
    CAPTURE(sent);
    json::object reply = send(w1, "orch", bad.message);
    CHECK(error_code(reply) == "bad_message");
    CHECK(error_text(reply).find("message." + bad.field) != std::string::npos);
  }

  std::uint64_t marker = sent_seq(broadcast(w1, context_message("marker")));
  CHECK(seq_of(next_line(orch)) == marker);
}

TEST_CASE("a message of each kind missing a field is refused with bad_message naming the field") {
  REQUIRE(missing_fields().size() == 9);
  check_all_refused(missing_fields());
}

TEST_CASE("a message of each kind with a field of the wrong type is refused, naming the field") {
  REQUIRE(wrong_types().size() == 9);
  check_all_refused(wrong_types());
}

TEST_CASE("an unknown kind, a missing kind and a custom kind without a name are refused") {
  check_all_refused({
      {{{"kind", "progress"}, {"summary", "x"}}, "kind"},
      {{{"summary", "no kind"}}, "kind"},
      {{{"kind", 3}}, "kind"},
      {{{"kind", "x-"}}, "kind"},
  });
}

TEST_CASE("a send without a message object is refused with bad_message") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");

  json::object no_message = orch.call({{"op", "send"}, {"to", "orch"}});
  json::object text_message = orch.call({{"op", "broadcast"}, {"message", "hello"}});

  CHECK(error_code(no_message) == "bad_message");
  CHECK(error_text(no_message).find("message") != std::string::npos);
  CHECK(error_code(text_message) == "bad_message");
}

TEST_CASE("a custom x- kind is delivered as it was sent") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader orch = connect_as(daemon, "orch");
  EventReader w1 = connect_as(daemon, "w1");
  json::object custom{{"kind", "x-lint-report"}, {"warnings", json::array{1, "two", nullptr}}};

  std::uint64_t seq = sent_seq(send(w1, "orch", custom));

  json::object got = next_line(orch);
  CHECK(seq_of(got) == seq);
  CHECK(got.at("message") == custom);
}

}  // namespace
}  // namespace coordd::integration
