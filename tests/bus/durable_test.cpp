// Targeted messages that survive coordd: logged in --state-dir before `sent`,
// delivered after the agent's next hello in the next run, once, in order,
// within their TTL counted on wall time; a damaged log tail is skipped.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>

#include "tests/bus/bus_fixture.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::integration {
namespace {

// Says hello as `agent`, closes, and waits until coordd has noticed, so what
// is sent next waits in the retained mailbox.
void visit_and_leave(const DaemonProcess& daemon, EventReader& observer, std::string_view agent) {
  { EventReader visit = connect_as(daemon, agent); }
  wait_for_connected_agents(observer, 0);
}

// An anonymous sender (additional_context may come from anyone).
std::vector<std::uint64_t> send_all(EventReader& sender, std::string_view to,
                                    std::initializer_list<std::string_view> contents) {
  std::vector<std::uint64_t> seqs;
  for (std::string_view content : contents) {
    seqs.push_back(sent_seq(send(sender, to, context_message(content))));
  }
  return seqs;
}

// Says hello as `agent` and reads what it is owed: as many messages as the
// hello reply says are waiting, then checks that the next line is the pong
// of a ping, so nothing else (no duplicate) was delivered.
std::vector<std::string> delivered_after_hello(const DaemonProcess& daemon,
                                               std::string_view agent) {
  EventReader reader = daemon.connect();
  json::object hello = hello_as(reader, agent);
  REQUIRE(hello.at("type") == "hello");
  std::vector<std::string> contents;
  std::uint64_t last_seq = 0;
  for (std::uint64_t i = 0; i < hello.at("waiting").to_number<std::uint64_t>(); ++i) {
    json::object line = next_line(reader);
    REQUIRE(line.at("type") == "message");
    CHECK(seq_of(line) > last_seq);
    last_seq = seq_of(line);
    contents.push_back(content_of(line));
  }
  reader.send_line(R"({"op":"ping","req":"after"})");
  CHECK(next_line(reader).at("type") == "pong");
  return contents;
}

using Strings = std::vector<std::string>;

// Time itself is what the TTL test is about: waits for the wall clock to
// pass `when`.
void wait_for_wall_time(std::chrono::system_clock::time_point when) {
  auto left = when - std::chrono::system_clock::now();
  bool passed = support::poll_until(
      support::PollClock::now() + left + 1s,
      [&] { return std::chrono::system_clock::now() > when; }, 50ms);
  REQUIRE(passed);
}

fs::path newest_segment(const Workspace& ws) {
  fs::path newest;
  for (const auto& entry : fs::directory_iterator(ws.state_dir())) {
    std::string name = entry.path().filename().string();
    if (name.starts_with("messages-") && (newest.empty() || entry.path() > newest))
      newest = entry.path();
  }
  REQUIRE_MESSAGE(!newest.empty(), "no messages-*.log in " << ws.state_dir());
  return newest;
}

TEST_CASE(
    "messages to an away agent survive SIGKILL: after the restart its hello gets them once, "
    "in order") {
  Workspace ws;
  std::optional<DaemonProcess> daemon(std::in_place, ws);
  EventReader sender = daemon->connect();
  visit_and_leave(*daemon, sender, "w1");
  send_all(sender, "w1", {"m1", "m2", "m3"});
  daemon->kill();

  daemon.emplace(ws);

  CHECK(delivered_after_hello(*daemon, "w1") == Strings{"m1", "m2", "m3"});
  CHECK(delivered_after_hello(*daemon, "w1").empty());  // and not again
}

TEST_CASE("messages to an away agent survive a SIGTERM restart, ahead of what the new run sends") {
  Workspace ws;
  std::optional<DaemonProcess> daemon(std::in_place, ws);
  {
    EventReader sender = daemon->connect();
    visit_and_leave(*daemon, sender, "w1");
    send_all(sender, "w1", {"m1", "m2"});
  }
  CHECK(daemon->terminate() == 0);

  daemon.emplace(ws);
  EventReader sender = daemon->connect();
  send_all(sender, "w1", {"new"});

  CHECK(delivered_after_hello(*daemon, "w1") == Strings{"m1", "m2", "new"});
}

TEST_CASE("a message delivered before the crash is not delivered again after the restart") {
  Workspace ws;
  std::optional<DaemonProcess> daemon(std::in_place, ws);
  EventReader sender = daemon->connect();
  {
    EventReader w1 = connect_as(*daemon, "w1");
    send_all(sender, "w1", {"read before the crash"});
    CHECK(content_of(next_line(w1)) == "read before the crash");
  }
  wait_for_connected_agents(sender, 0);
  send_all(sender, "w1", {"waiting"});
  daemon->kill();

  daemon.emplace(ws);

  CHECK(delivered_after_hello(*daemon, "w1") == Strings{"waiting"});
}

TEST_CASE("after a restart a logged message keeps its TTL counted from its send on wall time") {
  Workspace ws;
  const auto ttl = 4s;
  std::vector<std::string> flags = {"--mailbox-ttl", "4"};
  std::optional<DaemonProcess> daemon(std::in_place, ws, flags);
  EventReader sender = daemon->connect();
  visit_and_leave(*daemon, sender, "w1");
  auto first_sent = std::chrono::system_clock::now();
  send_all(sender, "w1", {"old"});
  wait_for_wall_time(first_sent + ttl / 2);
  send_all(sender, "w1", {"young"});
  daemon->kill();
  wait_for_wall_time(first_sent + ttl + 300ms);

  daemon.emplace(ws, flags);

  // "old" is past its TTL though the new run has just begun; "young" is not.
  CHECK(delivered_after_hello(*daemon, "w1") == Strings{"young"});
  CHECK(daemon->log().find("TTL passed while coordd was down") != std::string::npos);
}

TEST_CASE(
    "a log with a damaged entry and a torn tail: coordd starts, skips them with a warning "
    "and delivers what is valid") {
  Workspace ws;
  std::optional<DaemonProcess> daemon(std::in_place, ws);
  EventReader sender = daemon->connect();
  visit_and_leave(*daemon, sender, "w1");
  send_all(sender, "w1", {"damaged", "intact"});
  daemon->kill();
  fs::path segment = newest_segment(ws);
  std::string bytes;
  {
    std::ifstream in(segment, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::size_t at = bytes.find("damaged");
  REQUIRE(at != std::string::npos);
  bytes[at] = 'D';  // the checksum no longer matches
  bytes += R"(171 0badc0de {"put":99,"to":"w1","from":null,"sent_us":1,"mess)";  // torn
  std::ofstream(segment, std::ios::binary | std::ios::trunc) << bytes;

  daemon.emplace(ws);

  CHECK(delivered_after_hello(*daemon, "w1") == Strings{"intact"});
  std::string log = daemon->log();
  CHECK(log.find("damaged entry") != std::string::npos);
  CHECK(log.find("torn tail") != std::string::npos);
}

TEST_CASE("coordd refuses a state directory that others may write, and one another coordd holds") {
  Workspace ws;
  fs::create_directories(ws.state_dir());
  ::chmod(ws.state_dir().c_str(), 0777);
  DaemonExit open_dir = DaemonProcess::run_expecting_exit(ws);
  CHECK(open_dir.code == 1);
  CHECK(open_dir.log.find("writable by group or others") != std::string::npos);

  ::chmod(ws.state_dir().c_str(), 0700);
  DaemonProcess first(ws);
  Workspace other;  // its own socket, the same state directory
  DaemonExit second =
      DaemonProcess::run_expecting_exit(other, {"--state-dir", ws.state_dir().string()});
  CHECK(second.code == 1);
  CHECK(second.log.find("another coordd uses the state directory") != std::string::npos);
}

TEST_CASE("--state-dir none keeps messages in memory only, and writes nothing") {
  Workspace ws;
  std::optional<DaemonProcess> daemon(std::in_place, ws,
                                      std::vector<std::string>{"--state-dir", "none"});
  EventReader sender = daemon->connect();
  visit_and_leave(*daemon, sender, "w1");
  send_all(sender, "w1", {"m1"});
  json::object status = sender.call({{"op", "status"}});
  CHECK(status.at("message_log").is_null());
  CHECK_FALSE(fs::exists(ws.state_dir()));
}

}  // namespace
}  // namespace coordd::integration
