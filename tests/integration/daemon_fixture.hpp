// The integration-test fixture: a temporary workspace, the real coordd
// (COORDD_BIN) started on it with every path as a flag, helpers that write
// record files the way Muse and editors do, and an EventReader that waits for
// protocol lines with a deadline. Nothing here sleeps to let things settle:
// every wait ends on an event or fails the test at its deadline.
// doctest's main thread only: a failure throws out of the current TEST_CASE.
#pragma once

#include <doctest/doctest.h>
#include <sys/types.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/coord_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/workspace.hpp"

namespace coordd::integration {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

// How long a test waits for a line the daemon owes it.
inline constexpr std::chrono::milliseconds kLineTimeout = 5s;

// True when the suite runs against the polling backend (COORDD_TEST_BACKEND=poll).
bool polling_backend();

// The files of one test (tests/support): <tmp>/repo is the watched root and
// <tmp>/sock/coordd.sock the socket; Workspace::Layout::kEmptyRepo leaves out
// the kind directories.
using support::Workspace;

class EventReader;

// How a coordd that ran to its end finished.
struct DaemonExit {
  int code = -1;    // exit status, or 128 + signal number
  std::string log;  // everything it wrote to stderr
};

// The real coordd serving ws.socket() and watching ws.repo(), with
// ws.state_dir() as --state-dir unless `extra_flags` names one, plus
// `extra_flags`. The constructor returns once it answers a ping (10 s
// deadline); the destructor SIGTERMs it and reaps it (SIGKILL after 5 s).
// Creates the socket directory 0700 unless the test already made it.
class DaemonProcess {
 public:
  explicit DaemonProcess(const Workspace& ws, std::vector<std::string> extra_flags = {});
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Starts coordd and waits (10 s) for it to exit, as it should when it
  // refuses to start.
  static DaemonExit run_expecting_exit(const Workspace& ws,
                                       std::vector<std::string> extra_flags = {});

  // A new client connection to this daemon.
  EventReader connect() const;
  // SIGTERM, then waits for the exit (5 s) and returns its code.
  int terminate();
  // SIGKILL, as a crash ends it (no shutdown code runs); waits for the exit.
  int kill();
  std::string log() const;
  pid_t pid() const;

 private:
  DaemonProcess(const Workspace& ws, std::vector<std::string> extra_flags, bool wait_ready);
  void wait_until_serving();

  fs::path socket_;
  fs::path log_path_;
  support::ChildProcess child_;  // SIGTERM, SIGKILL 5 s later, on destruction
};

// How a wait for coordd to answer a ping ended.
enum class Serving { kYes, kTimedOut, kExited };
// Connects to `socket` and pings until coordd answers or `timeout` passes,
// giving up early when `process` exits. `why` gets the last connection error.
Serving wait_for_ping(const fs::path& socket, support::ChildProcess& process,
                      std::chrono::milliseconds timeout, std::string& why);

// A test of one protocol line, with words for failure messages.
struct LinePattern {
  std::string description;
  std::function<bool(const json::object&)> matches;
};

// An event line of this event_type for the record with this id.
LinePattern event_for(std::string_view event_type, std::string_view id);
// A line whose "type" is `type` (error, pong, subscribed, ...).
LinePattern line_of_type(std::string_view type);

// What subscribe() read: the subscribed reply, the snapshot events and the
// snapshot_end line.
struct Subscribed {
  std::uint64_t sub = 0;
  std::uint64_t seq = 0;
  std::vector<json::object> snapshot;
  json::object end;
};

// One client connection with deadline-bound reads. When a line does not come
// in time the test fails, printing every line received and the daemon's log.
class EventReader {
 public:
  EventReader(const fs::path& socket, fs::path daemon_log);

  // Sends `request` with a fresh "req" and returns the reply that echoes it.
  json::object call(json::object request);
  // Sends one raw line (a '\n' is appended).
  void send_line(std::string_view line);
  // Sends subscribe with these filters and reads through its snapshot_end.
  Subscribed subscribe(json::object filters = {});
  // Reads lines until one matches `until`; returns them all, the match last.
  std::vector<json::object> read_until(const LinePattern& until,
                                       std::chrono::milliseconds timeout = kLineTimeout);
  // Reads until the daemon closes the connection; returns the lines read
  // before. Fails the test if it stays open past `timeout`.
  std::vector<std::string> read_until_closed(std::chrono::milliseconds timeout = kLineTimeout);

 private:
  [[noreturn]] void fail_waiting(std::string_view what, const std::vector<std::string>& received,
                                 std::string_view why) const;

  CoordClient client_;
  fs::path daemon_log_;
};

// The atomic-rename pattern: writes <dir>/.<id>.tmp, then renames it to <dir>/<id>.json.
void write_record_atomic(const fs::path& dir, std::string_view id, const json::object& record);
// Rewrites <dir>/<id>.json in place: open with O_TRUNC, one write, close.
void write_record_in_place(const fs::path& dir, std::string_view id, std::string_view content);
void write_record_in_place(const fs::path& dir, std::string_view id, const json::object& record);
void remove_record(const fs::path& dir, std::string_view id);
// The same, for any file name and raw bytes.
void write_file_atomic(const fs::path& path, std::string_view bytes);
void write_file_in_place(const fs::path& path, std::string_view bytes);

// `time` as Python's datetime.isoformat() writes an aware UTC time:
// "2026-03-30T15:00:00.123456+00:00", the fraction omitted when zero.
std::string iso_utc(std::chrono::system_clock::time_point time);
// The lines of `lines` that are events of this type (any type when empty).
std::vector<json::object> events_of_type(const std::vector<json::object>& lines,
                                         std::string_view event_type = {});
// The ids of those events, in arrival order.
std::vector<std::string> ids_of(const std::vector<json::object>& events);
// The line of `lines` about the record `id`; fails the test when there is none.
json::object with_id(const std::vector<json::object>& lines, std::string_view id);
// A record of the reservation kind as Muse writes it.
json::object reservation(std::string_view id, std::string_view expires_at,
                         std::string_view run_id = "run-1", std::string_view branch = "main");

}  // namespace coordd::integration

// Lets CHECK print lists of record ids when they differ.
template <>
struct doctest::StringMaker<std::vector<std::string>> {
  static doctest::String convert(const std::vector<std::string>& strings);
};
