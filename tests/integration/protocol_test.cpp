// The request side of protocol v1 over a real socket: hello, ping,
// unsubscribe, error replies to bad requests, and the frame size limit (also
// for a client that sends its whole oversized line before it reads).
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
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

// A blocking client that writes everything first and reads only then, as a
// simple script does: what it saw of each half of the conversation.
struct SendThenRead {
  std::size_t sent = 0;
  std::string send_error;  // strerror of the failed send, or ""
  std::string received;
  std::string read_error;  // strerror of the failed read, or "" after EOF
};

SendThenRead send_all_then_read(const fs::path& socket, const std::string& bytes) {
  SendThenRead out;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  timeval timeout{5, 0};  // a daemon that never answers fails the test, not hangs it
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  while (out.sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + out.sent, bytes.size() - out.sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      out.send_error = std::strerror(errno);
      break;
    }
    out.sent += std::size_t(n);
  }
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) out.read_error = std::strerror(errno);
    if (n <= 0) break;
    out.received.append(buffer, std::size_t(n));
  }
  ::close(fd);
  return out;
}

TEST_CASE(
    "a client that sends a whole 2 MiB line before reading gets frame_too_large and a clean "
    "end, not a reset") {
  Workspace ws;
  DaemonProcess daemon(ws);  // --max-frame-bytes is 1 MiB
  // 2 MiB in all: what coordd reads past its limit stays within the 1 MiB it discards.
  std::string line = R"({"op":"ping","pad":")" + std::string((2 << 20) - 64, 'x') + "\"}\n";

  SendThenRead talk = send_all_then_read(ws.socket(), line);

  CHECK(talk.send_error == "");
  CHECK(talk.sent == line.size());
  CHECK(talk.read_error == "");
  REQUIRE(talk.received.ends_with("\n"));
  json::value error = json::parse(talk.received);
  CHECK(error.at("code") == "frame_too_large");
  CHECK(daemon.connect().call({{"op", "ping"}}).at("type") == "pong");
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

namespace coordd::integration {
namespace {

// Sends `bytes` on a new connection, shuts down the write side and returns
// every line coordd writes before it closes (fails the test after 10 s).
std::vector<json::object> send_then_half_close(const fs::path& socket, std::string_view bytes) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::snprintf(address.sun_path, sizeof address.sun_path, "%s", socket.c_str());
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::write(fd, bytes.data(), bytes.size()) == ssize_t(bytes.size()));
  REQUIRE(::shutdown(fd, SHUT_WR) == 0);
  std::string received;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd pfd{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&pfd, 1, int(left.count())) != 1) {
      ::close(fd);
      FAIL("coordd did not close the half-closed connection; it wrote: " << received);
    }
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) break;
    received.append(buffer, std::size_t(n));
  }
  ::close(fd);
  std::vector<json::object> lines;
  std::size_t start = 0;
  for (std::size_t end; (end = received.find('\n', start)) != std::string::npos; start = end + 1) {
    lines.push_back(json::parse(received.substr(start, end - start)).as_object());
  }
  return lines;
}

std::vector<std::string> types_of(const std::vector<json::object>& lines) {
  std::vector<std::string> types;
  for (const json::object& line : lines) types.emplace_back(line.at("type").as_string());
  return types;
}

}  // namespace

TEST_CASE("replies come in request order: a ping sent behind a waiting sync is answered after it") {
  Workspace ws;
  DaemonProcess daemon(ws);
  std::vector<json::object> lines = send_then_half_close(
      ws.socket(), "{\"op\":\"sync\",\"req\":1}\n{\"op\":\"ping\",\"req\":2}\n");
  CHECK(types_of(lines) == std::vector<std::string>{"synced", "pong"});
}

TEST_CASE("a client that half-closes right after sync still receives synced, then EOF") {
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t-1", kTask);
  DaemonProcess daemon(ws);
  std::vector<json::object> lines = send_then_half_close(ws.socket(), "{\"op\":\"sync\"}\n");
  CHECK(types_of(lines) == std::vector<std::string>{"synced"});
}

}  // namespace coordd::integration
