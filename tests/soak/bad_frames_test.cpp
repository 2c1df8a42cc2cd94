// Hostile frames: a 10 MiB line is refused with frame_too_large and the
// connection closed; 64 KiB of random bytes (NULs included, one newline at
// the end) get an error reply. Either way coordd -- the same process -- goes
// on serving everyone else.
#include <doctest/doctest.h>

#include <random>

#include "tests/soak/soak_fixture.hpp"

namespace coordd::soak {
namespace {

constexpr std::size_t kHugeLine = 10 * (std::size_t(1) << 20);
constexpr std::size_t kRandomBytes = 64 * 1024;
constexpr std::uint32_t kRandomSeed = 0x5eed'b17e;
constexpr auto kReplyTimeout = 5s;

CoordClient connect_raw(const Workspace& ws) {
  CoordClient client;
  REQUIRE_MESSAGE(client.connect(ws.socket().string()), client.error());
  return client;
}

// The lines coordd sends until it closes the connection (5 s deadline).
std::vector<std::string> lines_until_closed(CoordClient& client) {
  auto deadline = SteadyClock::now() + kReplyTimeout;
  std::vector<std::string> lines;
  for (;;) {
    std::string line;
    CoordClient::Status status = client.read_line(line, deadline);
    if (status == CoordClient::Status::kInterrupted) continue;
    if (status == CoordClient::Status::kClosed) return lines;
    REQUIRE_MESSAGE(status == CoordClient::Status::kOk,
                    "coordd did not close the connection: " << client.error() << " after "
                                                            << lines.size() << " line(s)");
    lines.push_back(std::move(line));
  }
}

json::object next_reply(CoordClient& client) {
  std::string line;
  CoordClient::Status status = client.read_line(line, SteadyClock::now() + kReplyTimeout);
  REQUIRE_MESSAGE(status == CoordClient::Status::kOk, "no reply: " << client.error());
  return json::parse(line).as_object();
}

std::string random_line(std::uint32_t seed, std::size_t size) {
  std::mt19937 random(seed);
  std::string bytes(size, '\0');
  for (char& byte : bytes) {
    byte = char(random() & 0xff);
    if (byte == '\n') byte = '\0';
  }
  return bytes;
}

TEST_CASE(
    "a 10 MiB request line gets frame_too_large and the connection closes; coordd serves on") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader probe = daemon.connect();
  const pid_t pid = daemon_pid(probe);
  CoordClient client = connect_raw(ws);

  // coordd stops reading at its frame limit and closes, so the send may end early.
  CoordClient::Status sent =
      client.send_line(std::string(kHugeLine, 'x'), SteadyClock::now() + kReplyTimeout);
  std::vector<std::string> lines = lines_until_closed(client);

  CHECK((sent == CoordClient::Status::kOk || sent == CoordClient::Status::kClosed));
  REQUIRE(lines.size() == 1);
  json::object error = json::parse(lines[0]).as_object();
  CHECK(error.at("type") == "error");
  CHECK(error.at("code") == "frame_too_large");
  CHECK(probe.call({{"op", "ping"}}).at("type") == "pong");
  CHECK(daemon_pid(probe) == pid);
}

TEST_CASE("64 KiB of random bytes with NULs and one newline get an error reply, never a crash") {
  Workspace ws;
  DaemonProcess daemon(ws);
  EventReader probe = daemon.connect();
  const pid_t pid = daemon_pid(probe);
  CoordClient client = connect_raw(ws);
  std::string garbage = random_line(kRandomSeed, kRandomBytes);
  REQUIRE(garbage.find('\0') != std::string::npos);

  REQUIRE(client.send_line(garbage, SteadyClock::now() + kReplyTimeout) ==
          CoordClient::Status::kOk);
  json::object reply = next_reply(client);

  CHECK(reply.at("type") == "error");
  std::string code(reply.at("code").as_string());
  CHECK((code == "invalid_json" || code == "not_an_object" || code == "frame_too_large"));
  if (code != "frame_too_large") {  // not final: the connection stays usable
    json::object pong;
    CHECK(client.call({{"op", "ping"}}, pong, SteadyClock::now() + kReplyTimeout) ==
          CoordClient::Status::kOk);
    CHECK(pong["type"] == "pong");
  }
  CHECK(probe.call({{"op", "ping"}}).at("type") == "pong");
  CHECK(daemon_pid(probe) == pid);
}

}  // namespace
}  // namespace coordd::soak
