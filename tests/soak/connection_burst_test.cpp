// A burst of 1,000 connections opened and closed -- some silent, some asking
// for a ping or a snapshot they never read, some subscribers that read their
// snapshot and then hang up -- leaves coordd answering, counting one client,
// and holding the descriptors it held before.
#include <doctest/doctest.h>

#include <vector>

#include "tests/soak/process_probe.hpp"
#include "tests/soak/soak_fixture.hpp"

namespace coordd::soak {
namespace {

constexpr std::size_t kConnections = 1'000;
constexpr std::size_t kBatch = 250;  // open at once; well under any descriptor limit we set

// Reads `client`'s lines through its snapshot_end.
void read_snapshot(CoordClient& client) {
  auto deadline = SteadyClock::now() + 5s;
  std::string line;
  do {
    REQUIRE_MESSAGE(client.read_line(line, deadline) == CoordClient::Status::kOk,
                    "no snapshot_end: " << client.error());
  } while (line.find(R"("type":"snapshot_end")") == std::string::npos);
}

// Opens `count` connections: a quarter silent, a quarter sending a ping and a
// quarter a subscribe whose replies they never read, and a quarter
// subscribers that read their snapshot. Then closes them all.
void open_and_drop(const Workspace& ws, std::size_t count) {
  std::vector<CoordClient> clients(count);
  for (std::size_t i = 0; i < count; ++i) {
    REQUIRE_MESSAGE(clients[i].connect(ws.socket().string()), clients[i].error());
    if (i % 4 == 1) clients[i].send_line(R"({"op":"ping"})");
    if (i % 4 >= 2) clients[i].send_line(R"({"op":"subscribe","kinds":["task"]})");
  }
  for (std::size_t i = 3; i < count; i += 4) read_snapshot(clients[i]);
}  // every socket closes here

TEST_CASE(
    "after 1,000 connections opened and closed in a burst, coordd answers ping, counts "
    "one client and holds the descriptors it held before") {
  allow_descriptors(kBatch + 256);
  Workspace ws;
  for (int i = 0; i < 20; ++i) {
    integration::write_record_atomic(ws.kind_dir("tasks"), "t-" + std::to_string(i),
                                     {{"task_id", i}});
  }
  DaemonProcess daemon(ws);
  EventReader probe = daemon.connect();
  REQUIRE(settled_client_count(probe, 1) == 1);
  const pid_t pid = daemon_pid(probe);
  const std::size_t fds_before = open_fds(pid).value_or(0);

  for (std::size_t opened = 0; opened < kConnections; opened += kBatch) open_and_drop(ws, kBatch);

  CHECK(probe.call({{"op", "ping"}}).at("type") == "pong");
  CHECK(settled_client_count(probe, 1) == 1);
  std::size_t fds_after = settled_fd_count(pid, fds_before);
  INFO("coordd's descriptors now: " << fd_summary(pid));
  CHECK(fds_after == fds_before);
  CHECK(status_of(probe).at("clients_accepted").to_number<std::uint64_t>() >= kConnections);
}

}  // namespace
}  // namespace coordd::soak
