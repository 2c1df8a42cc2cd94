// One global seq: record events and agent messages on one agent's connection
// arrive in strictly increasing seq, however they interleave.
#include <doctest/doctest.h>

#include <set>

#include "tests/bus/bus_fixture.hpp"

namespace coordd::integration {
namespace {

// The seqs of the event and message lines of `lines`, in arrival order.
// Snapshot lines are left out: they carry the seq their record last changed
// at, a state rather than a step in the stream.
std::vector<std::uint64_t> seqs_of_events_and_messages(const std::vector<json::object>& lines) {
  std::vector<std::uint64_t> seqs;
  for (const json::object& line : lines) {
    bool event = line.at("type") == "event" && line.at("event_type") != "snapshot";
    if (event || line.at("type") == "message") seqs.push_back(seq_of(line));
  }
  return seqs;
}

// Fails naming the first pair of lines out of order.
void check_strictly_increasing(const std::vector<std::uint64_t>& seqs) {
  for (std::size_t i = 1; i < seqs.size(); ++i) {
    CAPTURE(i);
    REQUIRE_MESSAGE(seqs[i - 1] < seqs[i],
                    "seq " << seqs[i] << " arrived after seq " << seqs[i - 1]);
  }
}

TEST_CASE(
    "events, targeted messages and broadcasts reach an agent's connection in strictly increasing "
    "seq") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader worker = connect_as(daemon, "worker");
  worker.subscribe({{"kinds", json::array{"task"}}});
  EventReader orch = connect_as(daemon, "orch");
  constexpr std::size_t kRounds = 12;

  std::set<std::uint64_t> messages;
  for (std::size_t i = 0; i < kRounds; ++i) {
    std::string id = "t" + std::to_string(i);
    write_record_atomic(ws.kind_dir("tasks"), id, {{"task_id", id}});
    // Half the rounds pin the event before the messages; the rest race them.
    if (i % 2 == 0) sync(orch);
    messages.insert(sent_seq(send(orch, "worker", context_message("to you " + id))));
    messages.insert(sent_seq(broadcast(orch, context_message("to all " + id))));
  }
  sync(orch);
  std::uint64_t marker = sent_seq(broadcast(orch, context_message("marker")));
  messages.insert(marker);

  std::vector<json::object> lines = worker.read_until(message_with_seq(marker));
  check_strictly_increasing(seqs_of_events_and_messages(lines));
  CHECK(events_of_type(lines, "added").size() == kRounds);
  std::set<std::uint64_t> received;
  for (const json::object& line : lines) {
    if (line.at("type") == "message") received.insert(seq_of(line));
  }
  CHECK(received == messages);
}

TEST_CASE(
    "a message to an agent whose subscription is still streaming its snapshot does not overtake "
    "earlier events") {
  Workspace ws;
  // A snapshot far larger than the socket buffer, so it stalls until read.
  std::string padding(2000, 'p');
  for (int i = 0; i < 400; ++i) {
    std::string id = "pre" + std::to_string(i);
    write_record_atomic(ws.kind_dir("tasks"), id, {{"task_id", id}, {"padding", padding}});
  }
  DaemonProcess daemon(ws, {"--queue-max-events", "16"});
  EventReader worker = connect_as(daemon, "worker");
  worker.send_line(R"({"op":"subscribe","kinds":["task"]})");  // not read yet
  EventReader orch = daemon.connect();

  write_record_atomic(ws.kind_dir("tasks"), "late", {{"task_id", "late"}});
  sync(orch);  // the event for "late" has its seq, before the message's
  std::uint64_t seq = sent_seq(send(orch, "worker", context_message("after late")));

  bool saw_event = false;
  bool saw_message = false;
  std::vector<json::object> lines = worker.read_until(
      LinePattern{"the event for 'late' and the message", [&](const json::object& line) {
                    saw_event = saw_event || event_for("added", "late").matches(line);
                    saw_message = saw_message || message_with_seq(seq).matches(line);
                    return saw_event && saw_message;
                  }});
  check_strictly_increasing(seqs_of_events_and_messages(lines));
}

}  // namespace
}  // namespace coordd::integration
