// Readiness as sd_notify(3) tells it, read from a datagram socket the test
// binds as NOTIFY_SOCKET (a path, or an @abstract name): READY=1 only once
// the initial scan is done and the socket accepts, STATUS= with the record
// count, RELOADING=1 then READY=1 around a SIGHUP, STOPPING=1 on SIGTERM.
#include <doctest/doctest.h>
#include <signal.h>
#include <time.h>

#include "tests/supervised/notify_socket.hpp"
#include "tests/supervised/supervised_process.hpp"

namespace coordd::integration {
namespace {

std::string an_hour_from_now() {
  return iso_utc(std::chrono::system_clock::now() + std::chrono::hours(1));
}

// A repo holding three reservations before coordd starts.
void prepopulate(const Workspace& ws) {
  for (std::string_view id : {"r1", "r2", "r3"}) {
    write_record_atomic(ws.kind_dir("reservations"), id, reservation(id, an_hour_from_now()));
  }
}

Launch notified_launch(const Workspace& ws, const NotifySocket& manager) {
  return Launch{
      coordd_command(ws), {{"NOTIFY_SOCKET", manager.address()}}, ws.scratch("coordd.log")};
}

// READY=1, then a connection made right after it must be served: the
// socket was accepting before readiness was announced.
void check_ready_means_serving(const Workspace& ws, NotifySocket& manager,
                               const SupervisedProcess& daemon) {
  Notification ready = manager.wait_for("READY=1", 10s);

  CoordClient client;
  REQUIRE_MESSAGE(client.connect(ws.socket().string()), client.error());
  json::object pong;
  CHECK(client.call({{"op", "ping"}}, pong, deadline_in(kLineTimeout)) == CoordClient::Status::kOk);
  CHECK(manager.history().size() == 1);  // nothing was announced before READY=1
  INFO(ready.text);
  CHECK(mentions(ready.field("STATUS").value_or(""), "3 records"));
  CHECK(ready.field("MAINPID") == std::to_string(daemon.pid()));
}

TEST_CASE("READY=1 to a NOTIFY_SOCKET path comes once the socket accepts, with the record count") {
  Workspace ws;
  prepopulate(ws);
  NotifySocket manager(ws.scratch("notify.sock").string());

  SupervisedProcess daemon(notified_launch(ws, manager));

  check_ready_means_serving(ws, manager, daemon);
}

TEST_CASE("an @abstract NOTIFY_SOCKET gets the same READY=1") {
  Workspace ws;
  prepopulate(ws);
  NotifySocket manager(unique_abstract_address());

  SupervisedProcess daemon(notified_launch(ws, manager));

  check_ready_means_serving(ws, manager, daemon);
}

TEST_CASE("SIGTERM, or SIGINT, brings STOPPING=1, then exit 0") {
  int stop_signal = SIGTERM;
  SUBCASE("SIGTERM") { stop_signal = SIGTERM; }
  SUBCASE("SIGINT") { stop_signal = SIGINT; }
  Workspace ws;
  NotifySocket manager(unique_abstract_address());
  SupervisedProcess daemon(notified_launch(ws, manager));
  manager.wait_for("READY=1", 10s);

  daemon.send_signal(stop_signal);

  manager.wait_for("STOPPING=1");
  CHECK(daemon.wait_for_exit() == 0);
}

TEST_CASE("SIGHUP brings RELOADING=1 with MONOTONIC_USEC, then READY=1 again") {
  Workspace ws;
  prepopulate(ws);
  NotifySocket manager(ws.scratch("notify.sock").string());
  SupervisedProcess daemon(notified_launch(ws, manager));
  manager.wait_for("READY=1", 10s);
  timespec before{};
  ::clock_gettime(CLOCK_MONOTONIC, &before);

  daemon.send_signal(SIGHUP);

  Notification reloading = manager.wait_for("RELOADING=1");
  std::size_t reloading_at = manager.history().size();
  Notification ready = manager.wait_for("READY=1");
  CHECK(manager.history().size() == reloading_at + 1);  // READY=1 is the very next one
  long long usec = std::stoll(reloading.field("MONOTONIC_USEC").value_or("0"));
  CHECK(usec >= (long long)before.tv_sec * 1'000'000 + before.tv_nsec / 1000);
  CHECK(mentions(ready.field("STATUS").value_or(""), "3 records"));
  CHECK(daemon.connect(ws.socket()).call({{"op", "ping"}}).at("type") == "pong");
}

}  // namespace
}  // namespace coordd::integration
