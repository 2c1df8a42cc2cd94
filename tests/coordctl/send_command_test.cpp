// coordctl send and broadcast against the real coordd: the message an agent
// receives is the one the command line describes, coordd's refusals come
// back with its code and exit 1, a bad command line exits 2 before any
// connection, and a daemon that never answers gives up after --timeout.
#include <doctest/doctest.h>

#include <boost/json.hpp>

#include "client/coord_client.hpp"
#include "tests/coordctl/coordd_fixture.hpp"

namespace coordctl_test {
namespace {

namespace json = boost::json;

// A connection that said hello as `agent`: its mailbox is live.
coordd::CoordClient agent_connection(const TempRepo& repo, const std::string& agent) {
  coordd::CoordClient client;
  REQUIRE(client.connect(repo.socket()));
  json::object hello;
  REQUIRE(client.call(json::object{{"op", "hello"}, {"agent", agent}}, hello,
                      coordd::deadline_in(10s)) == coordd::CoordClient::Status::kOk);
  REQUIRE(hello.at("type") == "hello");
  return client;
}

// The next line on `client` whose type is "message".
json::object next_message(coordd::CoordClient& client) {
  for (;;) {
    std::string line;
    REQUIRE(client.read_line(line, coordd::deadline_in(10s)) == coordd::CoordClient::Status::kOk);
    json::object parsed = json::parse(line).as_object();
    if (parsed.at("type") == "message") return parsed;
  }
}

}  // namespace

TEST_CASE("send delivers the message the command line describes, and prints its seq") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  coordd::CoordClient worker = agent_connection(repo, "worker-1");
  RunResult run = run_to_end(coordctl({"send", "--socket", repo.socket(), "--to", "worker-1",
                                       "--message", R"({"kind":"x-plan","step":1,"note":"a"})",
                                       "--field", "note=b", "--field", "tags:=[\"x\",2]"}));
  INFO(run.err);
  REQUIRE(run.status.code == 0);
  json::object message = next_message(worker);
  CHECK(run.out == "sent to worker-1 as seq " + json::serialize(message.at("seq")) + "\n");
  CHECK(message.at("to") == "worker-1");
  CHECK(message.at("from").is_null());
  CHECK(message.at("message") ==
        json::parse(R"({"kind":"x-plan","step":1,"note":"b","tags":["x",2]})"));
}

TEST_CASE("broadcast reaches every connected agent and --json prints coordd's reply") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  coordd::CoordClient one = agent_connection(repo, "worker-1");
  coordd::CoordClient two = agent_connection(repo, "worker-2");
  RunResult run =
      run_to_end(coordctl({"broadcast", "--socket", repo.socket(), "--kind", "additional_context",
                           "--field", "content=freeze", "--json"}));
  INFO(run.err);
  REQUIRE(run.status.code == 0);
  json::object reply = parse_line(run.lines.at(0));
  CHECK(reply.at("type") == "sent");
  CHECK(reply.at("recipients") == 2);
  CHECK(next_message(one).at("message").at("content") == "freeze");
  CHECK(next_message(two).at("to") == "*");
}

TEST_CASE("send prints coordd's refusal with its code and exits 1") {
  TempRepo repo;
  RunningCoordd coordd(repo);
  RunResult unknown =
      run_to_end(coordctl({"send", "--socket", repo.socket(), "--to", "nobody", "--kind",
                           "additional_context", "--field", "content=hi"}));
  CHECK(unknown.status.code == 1);
  CHECK(unknown.err.find("not_subscribed") != std::string::npos);
  coordd::CoordClient worker = agent_connection(repo, "worker-1");
  RunResult bad = run_to_end(coordctl(
      {"send", "--socket", repo.socket(), "--to", "worker-1", "--kind", "task_completed"}));
  CHECK(bad.status.code == 1);
  CHECK(bad.err.find("bad_message") != std::string::npos);
}

TEST_CASE("a bad --field, --message or missing kind exits 2 without asking coordd") {
  TempRepo repo;  // no daemon: a usage error must not even try to connect
  for (std::vector<std::string> args :
       {std::vector<std::string>{"--kind", "x-a", "--field", "novalue"},
        std::vector<std::string>{"--kind", "x-a", "--field", "n:=[1,"},
        std::vector<std::string>{"--message", "[1]"},
        std::vector<std::string>{"--field", "content=hi"}}) {
    std::vector<std::string> argv = {"send", "--socket", repo.no_daemon_socket(), "--to", "w"};
    argv.insert(argv.end(), args.begin(), args.end());
    CAPTURE(args);
    RunResult run = run_to_end(coordctl(argv));
    CHECK(run.status.code == 2);
    CHECK(run.err.find("no coordd answers") == std::string::npos);
  }
  CHECK(run_to_end(coordctl({"send", "--kind", "x-a"})).status.code == 2);  // no --to
}

}  // namespace coordctl_test
