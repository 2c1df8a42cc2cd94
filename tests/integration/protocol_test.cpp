// The request side of protocol v1 over a real socket: hello, ping,
// unsubscribe, error replies to bad requests, and the frame size limit.
#include <doctest/doctest.h>

#include <regex>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::integration {
namespace {

const json::object kTask{{"task_id", "t1"}};

struct BadRequest {
  std::string line;
  std::string code;
  std::optional<json::value> req;  // echoed in the error when the request had one
};

TEST_CASE(
    "every bad request gets an error with a snake_case code and its req, and the "
    "connection stays usable") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  const std::vector<BadRequest> bad_requests = {
      {"this is not json", "invalid_json", std::nullopt},
      {"[1, 2]", "not_an_object", std::nullopt},
      {R"({"req": "no-op"})", "missing_op", json::value("no-op")},
      {R"({"op": "fly", "req": "unknown-op"})", "unknown_op", json::value("unknown-op")},
      {R"({"op": "subscribe", "kinds": 5, "req": 5})", "bad_field", json::value(5)},
      {R"({"op": "list", "kinds": ["widgets"], "req": true})", "bad_field", json::value(true)},
      {R"({"op": "unsubscribe", "sub": 999, "req": "unknown-sub"})", "unknown_sub",
       json::value("unknown-sub")},
  };

  for (const BadRequest& bad : bad_requests) {
    CAPTURE(bad.line);
    reader.send_line(bad.line);
    json::object error = reader.read_until(line_of_type("error")).back();

    CHECK(error.at("code") == bad.code.c_str());
    CHECK(std::regex_match(std::string(error.at("code").as_string()),
                           std::regex("[a-z]+(_[a-z]+)*")));
    CHECK(!error.at("message").as_string().empty());
    if (bad.req) {
      CHECK(error.at("req") == *bad.req);
    } else {
      CHECK(!error.contains("req"));
    }
    CHECK(reader.call({{"op", "ping"}}).at("type") == "pong");
  }
}

TEST_CASE("a line longer than --max-frame-bytes gets frame_too_large and the connection closes") {
  Workspace ws;
  DaemonProcess daemon(ws, {"--max-frame-bytes", "4096"});
  EventReader reader = daemon.connect();
  std::string padding(4000 - 40, 'x');
  CHECK(reader.call({{"op", "ping"}, {"pad", padding}}).at("type") == "pong");

  reader.send_line(R"({"op": "ping", "pad": ")" + std::string(5000, 'x') + "\"}");

  std::vector<std::string> last_lines = reader.read_until_closed();
  REQUIRE(last_lines.size() == 1);
  json::value error = json::parse(last_lines.at(0));
  CHECK(error.at("type") == "error");
  CHECK(error.at("code") == "frame_too_large");
}

TEST_CASE("hello returns proto 1, the epoch, the last seq and the roots; ping returns pong") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();

  json::object hello =
      reader.call({{"op", "hello"}, {"proto", 1}, {"client", "integration-tests/1"}});

  CHECK(hello.at("type") == "hello");
  CHECK(hello.at("proto") == 1);
  CHECK(hello.at("server").as_string().starts_with("coordd/"));
  CHECK(!hello.at("epoch").as_string().empty());
  CHECK(hello.at("seq").is_number());
  CHECK(hello.at("roots") == json::array{ws.repo().c_str()});
  json::object pong = reader.call({{"op", "ping"}});
  CHECK(pong.at("type") == "pong");
  CHECK(pong.contains("req"));
}

TEST_CASE("unsubscribe stops the events of that subscription only") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  std::uint64_t dropped = reader.subscribe().sub;
  std::uint64_t kept = reader.subscribe().sub;

  json::object reply = reader.call({{"op", "unsubscribe"}, {"sub", dropped}});
  write_record_atomic(ws.kind_dir("tasks"), "t1", kTask);
  // Named to sort after t1: the polling backend reports one scan's changes
  // in name order, inotify in write order; both put t1 first.
  write_record_atomic(ws.kind_dir("tasks"), "zmarker", kTask);

  CHECK(reply.at("type") == "unsubscribed");
  // Every t1 event is queued before any marker event, so reading through
  // kept's marker sees them all.
  auto lines = reader.read_until(
      LinePattern{"the marker's added for the kept sub", [&](const json::object& line) {
                    return event_for("added", "zmarker").matches(line) && line.at("sub") == kept;
                  }});
  auto events = events_of_type(lines);
  REQUIRE(events.size() == 2);
  CHECK(events.at(0).at("id") == "t1");
  CHECK(events.at(0).at("sub") == kept);
}

}  // namespace
}  // namespace coordd::integration

namespace coordd::integration {

TEST_CASE("blank request lines, empty or of spaces and tabs, are ignored: no reply, no error") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.send_line("");
  reader.send_line("   ");
  reader.send_line(" \t \r");
  reader.send_line(R"({"op":"ping"})");
  // The first line read is the pong: nothing was answered to the blank lines.
  std::vector<json::object> lines = reader.read_until(line_of_type("pong"));
  CHECK(lines.size() == 1);
}

}  // namespace coordd::integration
