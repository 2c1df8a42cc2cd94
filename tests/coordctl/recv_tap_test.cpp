// coordctl recv, tap and send --as against the real coordd: the shell side
// of the agent bus. recv prints what waits and acks exactly that (what it
// did not print comes again), exits 3 when nothing came within --wait; send
// --as speaks for an agent whose mailbox another process holds; tap streams
// every message, across a coordd restart.
#include <doctest/doctest.h>
#include <signal.h>

#include <boost/json.hpp>

#include "client/coord_client.hpp"
#include "tests/coordctl/coordd_fixture.hpp"

namespace coordctl_test {
namespace {

namespace json = boost::json;

RunResult send_as(const TempRepo& repo, const std::string& as, const std::string& to,
                  const std::string& content) {
  std::vector<std::string> args = {
      "send",    "--socket",          repo.socket(), "--to", to, "--kind", "additional_context",
      "--field", "content=" + content};
  if (!as.empty()) {
    args.push_back("--as");
    args.push_back(as);
  }
  RunResult run = run_to_end(coordctl(args));
  INFO(run.err);
  REQUIRE(run.status.code == 0);
  return run;
}

RunResult recv(const TempRepo& repo, std::vector<std::string> more) {
  std::vector<std::string> args = {"recv", "--socket", repo.socket()};
  args.insert(args.end(), more.begin(), more.end());
  return run_to_end(coordctl(args));
}

std::string content_of(const std::string& line) {
  return std::string(parse_line(line).at("message").at("content").as_string());
}

// A recv with nothing waiting registers the mailbox (kept for the TTL), so
// what is sent after it waits for the next recv.
void open_mailbox(const TempRepo& repo, const std::string& agent) {
  CHECK(recv(repo, {"--agent", agent}).status.code == 3);
}

}  // namespace

TEST_CASE("recv prints what waits, in order, acks it, and the next recv gets only what is new") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  open_mailbox(repo, "worker-1");
  send_as(repo, "", "worker-1", "one");
  send_as(repo, "", "worker-1", "two");

  RunResult first = recv(repo, {"--agent", "worker-1", "--json"});
  INFO(first.err);
  REQUIRE(first.status.code == 0);
  REQUIRE(first.lines.size() == 2);
  CHECK(content_of(first.lines[0]) == "one");
  CHECK(content_of(first.lines[1]) == "two");

  send_as(repo, "", "worker-1", "three");
  RunResult second = recv(repo, {"--agent", "worker-1"});
  REQUIRE(second.status.code == 0);
  REQUIRE(second.lines.size() == 1);
  CHECK(second.lines[0].find("additional_context  {\"content\":\"three\"}") != std::string::npos);
  CHECK(second.lines[0].find("(anonymous) -> worker-1") != std::string::npos);
  CHECK(recv(repo, {"--agent", "worker-1"}).status.code == 3);  // all acked
}

TEST_CASE("recv --max 1 consumes exactly one message and leaves the rest waiting, in order") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  open_mailbox(repo, "worker-1");
  for (const char* content : {"a", "b", "c"}) send_as(repo, "", "worker-1", content);

  for (const char* expected : {"a", "b", "c"}) {
    RunResult one = recv(repo, {"--agent", "worker-1", "--max", "1", "--json"});
    INFO(one.err);
    REQUIRE(one.status.code == 0);
    REQUIRE(one.lines.size() == 1);
    CHECK(content_of(one.lines[0]) == expected);
  }
  CHECK(recv(repo, {"--agent", "worker-1", "--max", "1"}).status.code == 3);
}

TEST_CASE("recv --wait returns the first message to arrive, and exits 3 when none comes in time") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  RunResult none = recv(repo, {"--agent", "worker-1", "--wait", "0.2"});
  CHECK(none.status.code == 3);
  CHECK(none.out.empty());

  ChildProcess waiting(coordctl({"recv", "--socket", repo.socket(), "--agent", "worker-1", "--wait",
                                 "20", "--json"}),
                       captured());
  // The waiting recv holds the mailbox once coordd lists the agent connected.
  coordd::CoordClient observer;
  REQUIRE(observer.connect(repo.socket()));
  bool connected = false;
  for (auto until = std::chrono::steady_clock::now() + 10s;
       !connected && std::chrono::steady_clock::now() < until;) {
    json::object status;
    REQUIRE(observer.call({{"op", "status"}}, status, coordd::deadline_in(5s)) ==
            coordd::CoordClient::Status::kOk);
    connected = status.at("agents").at("connected") == 1;
  }
  REQUIRE(connected);
  send_as(repo, "orch", "worker-1", "late");
  std::optional<ExitStatus> exit = waiting.wait(10s);
  REQUIRE(exit);
  CHECK(exit->code == 0);
  REQUIRE(waiting.read_lines(1, 5s));
  json::object line = parse_line(waiting.lines().at(0));
  CHECK(line.at("from") == "orch");
  CHECK(line.at("message").at("content") == "late");
}

TEST_CASE("a recv killed before it acks leaves its messages for the next recv, marked as again") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  open_mailbox(repo, "worker-1");
  send_as(repo, "", "worker-1", "keep me");
  // A reader that takes the message and dies before acking: an acking
  // connection closed by SIGKILL (coordctl recv acks only after printing).
  {
    coordd::CoordClient dying;
    REQUIRE(dying.connect(repo.socket()));
    json::object hello;
    REQUIRE(dying.call({{"op", "hello"}, {"agent", "worker-1"}, {"ack", true}}, hello,
                       coordd::deadline_in(5s)) == coordd::CoordClient::Status::kOk);
    std::string line;
    REQUIRE(dying.read_line(line, coordd::deadline_in(5s)) == coordd::CoordClient::Status::kOk);
    CHECK(line.find("keep me") != std::string::npos);
  }
  RunResult again = recv(repo, {"--agent", "worker-1", "--takeover"});
  INFO(again.err);
  REQUIRE(again.status.code == 0);
  REQUIRE(again.lines.size() == 1);
  CHECK(again.lines[0].find("keep me") != std::string::npos);
  CHECK(again.lines[0].find("(again") != std::string::npos);
  CHECK(recv(repo, {"--agent", "worker-1", "--takeover"}).status.code == 3);
}

TEST_CASE("send --as sends from an agent whose mailbox another connection holds") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  open_mailbox(repo, "orch");
  coordd::CoordClient holder;
  REQUIRE(holder.connect(repo.socket()));
  json::object hello;
  REQUIRE(holder.call({{"op", "hello"}, {"agent", "worker-1"}}, hello, coordd::deadline_in(5s)) ==
          coordd::CoordClient::Status::kOk);
  REQUIRE(hello.at("type") == "hello");

  RunResult run = run_to_end(
      coordctl({"send", "--socket", repo.socket(), "--as", "worker-1", "--to", "orch", "--kind",
                "task_completed", "--field", "task_id=t1", "--field", "summary=done"}));
  INFO(run.err);
  REQUIRE(run.status.code == 0);
  RunResult got = recv(repo, {"--agent", "orch", "--json"});
  REQUIRE(got.status.code == 0);
  json::object line = parse_line(got.lines.at(0));
  CHECK(line.at("from") == "worker-1");
  CHECK(line.at("message").at("agent_id") == "worker-1");  // filled in as the sender
  CHECK(line.at("message").at("task_id") == "t1");
}

TEST_CASE("recv and tap refuse a bad command line with exit 2, and recv says when coordd is away") {
  TempRepo repo;
  CHECK(run_to_end(coordctl({"recv", "--socket", repo.socket()})).status.code == 2);
  CHECK(run_to_end(coordctl({"recv", "--agent", "w", "--max", "0"})).status.code == 2);
  CHECK(run_to_end(coordctl({"tap", "--bogus"})).status.code == 2);
  RunResult away = run_to_end(coordctl({"recv", "--socket", repo.no_daemon_socket(), "-a", "w"}));
  CHECK(away.status.code == 1);
  CHECK(away.err.find("no coordd answers") != std::string::npos);
}

TEST_CASE("tap --all streams every message, readable, and goes on across a coordd restart") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  open_mailbox(repo, "worker-1");
  ChildProcess tap(coordctl({"tap", "--socket", repo.socket(), "--all"}), captured());
  // The tap is live once it sees a broadcast sent after it started.
  bool live = false;
  for (int i = 0; i < 200 && !live; ++i) {
    RunResult b = run_to_end(coordctl({"broadcast", "--socket", repo.socket(), "--kind",
                                       "additional_context", "--field", "content=probe"}));
    REQUIRE(b.status.code == 0);
    live = tap.read_until([&] { return !tap.lines().empty(); }, 100ms);
  }
  REQUIRE(live);
  send_as(repo, "orch", "worker-1", "before");
  REQUIRE(tap.read_until(
      [&] {
        return !tap.lines().empty() && tap.lines().back().find("before") != std::string::npos;
      },
      10s));
  CHECK(tap.lines().back().find("orch -> worker-1  additional_context") != std::string::npos);

  coordd.stop_with(SIGTERM);
  coordd.start();
  // The tap reconnects by itself; what is sent to the new run reaches it.
  bool after = false;
  for (int i = 0; i < 100 && !after; ++i) {
    RunResult b = run_to_end(coordctl({"broadcast", "--socket", repo.socket(), "--kind",
                                       "additional_context", "--field", "content=after"}));
    REQUIRE(b.status.code == 0);
    after = tap.read_until(
        [&] { return tap.lines().back().find("\"after\"") != std::string::npos; }, 200ms);
  }
  CHECK(after);
  CHECK(tap.read_stderr_until("reconnecting", 1s));
  tap.send_signal(SIGTERM);
  std::optional<ExitStatus> exit = tap.wait(5s);
  REQUIRE(exit);
  CHECK(exit->code == 0);
}

}  // namespace coordctl_test
