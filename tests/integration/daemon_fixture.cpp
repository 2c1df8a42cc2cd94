#include "tests/integration/daemon_fixture.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tests/support/poll_until.hpp"
#include "tests/support/program_paths.hpp"

namespace coordd::integration {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = 10s;
constexpr auto kStopTimeout = 5s;
constexpr std::size_t kLogTailLines = 40;

std::string errno_text() { return std::strerror(errno); }

// FAIL, for functions that must tell the compiler they do not return.
[[noreturn]] void fail_test(const std::string& message) {
  FAIL(message);
  std::abort();  // not reached: FAIL throws out of the test case
}

std::string read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string tail_lines(const std::string& text, std::size_t count) {
  std::size_t start = text.size();
  for (std::size_t seen = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++seen > count) break;
  }
  return text.substr(start);
}

// coordd on ws, every path a flag (the state directory too, unless the test
// gives its own); COORDD_TEST_BACKEND runs the whole suite against one watch
// backend. Makes the socket directory 0700 unless it exists.
std::vector<std::string> daemon_command(const Workspace& ws, std::vector<std::string> extra_flags) {
  std::vector<std::string> args = {support::coordd_binary(), "--root", ws.repo().string(),
                                   "--socket", ws.socket().string()};
  if (const char* backend = std::getenv("COORDD_TEST_BACKEND"); backend && *backend) {
    args.insert(args.end(), {"--backend", backend, "--poll-interval", "0.05"});
  }
  if (std::find(extra_flags.begin(), extra_flags.end(), "--state-dir") == extra_flags.end()) {
    args.insert(args.end(), {"--state-dir", ws.state_dir().string()});
  }
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  ws.make_socket_dir();
  return args;
}

// stdout and stderr to `log`; SIGTERM, then SIGKILL after 5 s, when dropped.
support::ChildOptions daemon_options(const fs::path& log) {
  support::ChildOptions options;
  options.stdout_to = support::Output::kLog;
  options.stderr_to = support::Output::kLog;
  options.log = log;
  options.stop_grace = kStopTimeout;
  return options;
}

fs::path next_log_path(const Workspace& ws) {
  static int runs = 0;  // one log per daemon, several daemons per workspace
  return ws.scratch("coordd-" + std::to_string(++runs) + ".log");
}

std::string describe(const json::value& value) { return json::serialize(value); }

void write_all(int fd, std::string_view bytes, const fs::path& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) FAIL("write " << path << ": " << errno_text());
    bytes.remove_prefix(std::size_t(n));
  }
}

}  // namespace

bool polling_backend() {
  const char* backend = std::getenv("COORDD_TEST_BACKEND");
  return backend != nullptr && std::string_view(backend) == "poll";
}

DaemonProcess::DaemonProcess(const Workspace& ws, std::vector<std::string> extra_flags)
    : DaemonProcess(ws, std::move(extra_flags), true) {}

DaemonProcess::DaemonProcess(const Workspace& ws, std::vector<std::string> extra_flags,
                             bool wait_ready)
    : socket_(ws.socket()),
      log_path_(next_log_path(ws)),
      child_(daemon_command(ws, std::move(extra_flags)), daemon_options(log_path_)) {
  // A throw from here on still stops coordd: child_ is fully constructed.
  if (wait_ready) wait_until_serving();
}

DaemonExit DaemonProcess::run_expecting_exit(const Workspace& ws,
                                             std::vector<std::string> extra_flags) {
  DaemonProcess daemon(ws, std::move(extra_flags), false);
  std::optional<support::ExitStatus> exit = daemon.child_.wait(kStartTimeout);
  if (!exit) {
    FAIL("coordd was expected to refuse to start, but it still runs after 10 s; its log:\n"
         << daemon.log());
  }
  return DaemonExit{exit->shell_code(), daemon.log()};
}

Serving wait_for_ping(const fs::path& socket, support::ChildProcess& process,
                      std::chrono::milliseconds timeout, std::string& why) {
  // Start-up is the one place we poll: nothing tells us when the socket is
  // bound. A ping answered also means the initial scan is over.
  auto deadline = Clock::now() + timeout;
  bool exited = false;
  bool answered = support::poll_until(deadline, [&] {
    CoordClient client;
    if (client.connect(socket.string())) {
      json::object pong;
      if (client.call({{"op", "ping"}}, pong, deadline) == CoordClient::Status::kOk) return true;
    }
    why = client.error();
    exited = process.wait(0ms).has_value();
    return exited;
  });
  if (exited) return Serving::kExited;
  return answered ? Serving::kYes : Serving::kTimedOut;
}

void DaemonProcess::wait_until_serving() {
  std::string why;
  switch (wait_for_ping(socket_, child_, kStartTimeout, why)) {
    case Serving::kYes:
      return;
    case Serving::kTimedOut:
      FAIL("coordd did not answer on " << socket_ << " within 10 s (" << why << "); its log:\n"
                                       << log());
      return;
    case Serving::kExited:
      FAIL("coordd exited with code " << child_.exit_status()->shell_code()
                                      << " while starting; its log:\n"
                                      << log());
      return;
  }
}

EventReader DaemonProcess::connect() const { return EventReader(socket_, log_path_); }

int DaemonProcess::terminate() {
  if (child_.exit_status()) return child_.exit_status()->shell_code();
  if (!child_.send_signal(SIGTERM)) FAIL("kill: " << errno_text());
  if (!child_.wait(kStopTimeout)) {
    child_.stop(0ms);
    FAIL("coordd did not exit within 5 s of SIGTERM; its log:\n" << log());
  }
  return child_.exit_status()->shell_code();
}

int DaemonProcess::kill() {
  if (child_.exit_status()) return child_.exit_status()->shell_code();
  if (!child_.send_signal(SIGKILL)) FAIL("kill: " << errno_text());
  if (!child_.wait(kStopTimeout)) FAIL("coordd did not die within 5 s of SIGKILL");
  return child_.exit_status()->shell_code();
}

std::string DaemonProcess::log() const { return read_whole_file(log_path_); }

pid_t DaemonProcess::pid() const { return child_.pid(); }

LinePattern event_for(std::string_view event_type, std::string_view id) {
  return LinePattern{
      "an '" + std::string(event_type) + "' event for '" + std::string(id) + "'",
      [type = std::string(event_type), id = std::string(id)](const json::object& line) {
        const json::value* kind = line.if_contains("type");
        const json::value* got_type = line.if_contains("event_type");
        const json::value* got_id = line.if_contains("id");
        return kind && *kind == "event" && got_type && *got_type == type.c_str() && got_id &&
               *got_id == id.c_str();
      }};
}

LinePattern line_of_type(std::string_view type) {
  return LinePattern{"a line of type '" + std::string(type) + "'",
                     [type = std::string(type)](const json::object& line) {
                       const json::value* got = line.if_contains("type");
                       return got && *got == type.c_str();
                     }};
}

EventReader::EventReader(const fs::path& socket, fs::path daemon_log)
    : daemon_log_(std::move(daemon_log)) {
  if (!client_.connect(socket.string())) FAIL(client_.error());
}

json::object EventReader::call(json::object request) {
  std::string sent = describe(request);
  json::object reply;
  auto status = client_.call(std::move(request), reply, deadline_in(kLineTimeout));
  if (status != CoordClient::Status::kOk) {
    fail_waiting("the reply to " + sent, {},
                 status == CoordClient::Status::kTimeout
                     ? "timed out"
                     : "the connection ended: " + client_.error());
  }
  return reply;
}

void EventReader::send_line(std::string_view line) {
  if (client_.send_line(line, deadline_in(kLineTimeout)) != CoordClient::Status::kOk) {
    FAIL("cannot send a line to coordd: " << client_.error());
  }
}

Subscribed EventReader::subscribe(json::object filters) {
  filters["op"] = "subscribe";
  json::object reply = call(std::move(filters));
  if (reply.at("type") != "subscribed") FAIL("subscribe was refused: " << describe(reply));
  Subscribed out;
  out.sub = reply.at("sub").to_number<std::uint64_t>();
  out.seq = reply.at("seq").to_number<std::uint64_t>();
  std::uint64_t sub = out.sub;
  std::vector<json::object> lines = read_until(
      LinePattern{"snapshot_end for sub " + std::to_string(sub), [sub](const json::object& line) {
                    return line.at("type") == "snapshot_end" && line.at("sub") == sub;
                  }});
  out.end = lines.back();
  lines.pop_back();
  out.snapshot = std::move(lines);
  return out;
}

std::vector<json::object> EventReader::read_until(const LinePattern& until,
                                                  std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<std::string> received;
  std::vector<json::object> lines;
  for (;;) {
    std::string line;
    auto status = client_.read_line(line, deadline);
    if (status == CoordClient::Status::kInterrupted) continue;
    if (status != CoordClient::Status::kOk) {
      fail_waiting(until.description, received,
                   status == CoordClient::Status::kTimeout
                       ? "timed out after " + std::to_string(timeout.count()) + " ms"
                       : "the connection ended: " + client_.error());
    }
    received.push_back(line);
    boost::system::error_code ec;
    json::value parsed = json::parse(line, ec);
    if (ec || !parsed.is_object()) fail_waiting(until.description, received, "not a JSON object");
    lines.push_back(std::move(parsed.get_object()));
    if (until.matches(lines.back())) return lines;
  }
}

std::vector<std::string> EventReader::read_until_closed(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<std::string> received;
  for (;;) {
    std::string line;
    auto status = client_.read_line(line, deadline);
    if (status == CoordClient::Status::kInterrupted) continue;
    if (status == CoordClient::Status::kClosed) return received;
    if (status != CoordClient::Status::kOk) {
      fail_waiting("the daemon to close the connection", received,
                   status == CoordClient::Status::kTimeout ? "timed out" : client_.error());
    }
    received.push_back(std::move(line));
  }
}

void EventReader::fail_waiting(std::string_view what, const std::vector<std::string>& received,
                               std::string_view why) const {
  std::ostringstream out;
  out << "waiting for " << what << ": " << why << "; received " << received.size() << " line(s)";
  for (const std::string& line : received) out << "\n  " << line;
  out << "\ncoordd's log (last " << kLogTailLines << " lines):\n"
      << tail_lines(read_whole_file(daemon_log_), kLogTailLines);
  fail_test(out.str());
}

void write_file_in_place(const fs::path& path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) FAIL("open " << path << ": " << errno_text());
  write_all(fd, bytes, path);
  if (::close(fd) != 0) FAIL("close " << path << ": " << errno_text());
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  fs::path staged = path.parent_path() / ("." + path.stem().string() + ".tmp");
  write_file_in_place(staged, bytes);
  if (::rename(staged.c_str(), path.c_str()) != 0) {
    FAIL("rename " << staged << " to " << path << ": " << errno_text());
  }
}

void write_record_atomic(const fs::path& dir, std::string_view id, const json::object& record) {
  write_file_atomic(dir / (std::string(id) + ".json"), describe(record));
}

void write_record_in_place(const fs::path& dir, std::string_view id, std::string_view content) {
  write_file_in_place(dir / (std::string(id) + ".json"), content);
}

void write_record_in_place(const fs::path& dir, std::string_view id, const json::object& record) {
  write_record_in_place(dir, id, describe(record));
}

void remove_record(const fs::path& dir, std::string_view id) {
  fs::path path = dir / (std::string(id) + ".json");
  if (::unlink(path.c_str()) != 0) FAIL("unlink " << path << ": " << errno_text());
}

std::string iso_utc(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  auto us = floor<microseconds>(time);
  auto day = floor<days>(us);
  year_month_day date{day};
  hh_mm_ss time_of_day{us - day};
  char buf[48];
  int n =
      std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d", int(date.year()),
                    unsigned(date.month()), unsigned(date.day()), int(time_of_day.hours().count()),
                    int(time_of_day.minutes().count()), int(time_of_day.seconds().count()));
  if (auto fraction = time_of_day.subseconds().count(); fraction != 0) {
    n += std::snprintf(buf + n, sizeof buf - std::size_t(n), ".%06d", int(fraction));
  }
  std::snprintf(buf + n, sizeof buf - std::size_t(n), "+00:00");
  return buf;
}

std::vector<json::object> events_of_type(const std::vector<json::object>& lines,
                                         std::string_view event_type) {
  std::vector<json::object> out;
  for (const json::object& line : lines) {
    if (line.at("type") != "event") continue;
    if (!event_type.empty() && line.at("event_type") != json::string_view(event_type)) continue;
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> ids_of(const std::vector<json::object>& events) {
  std::vector<std::string> out;
  for (const json::object& event : events) out.emplace_back(event.at("id").as_string());
  return out;
}

json::object with_id(const std::vector<json::object>& lines, std::string_view id) {
  for (const json::object& line : lines) {
    if (const json::value* got = line.if_contains("id"); got && *got == json::string_view(id)) {
      return line;
    }
  }
  std::string all;
  for (const json::object& line : lines) all += "\n  " + describe(line);
  fail_test("no line about '" + std::string(id) + "' among " + std::to_string(lines.size()) + ":" +
            all);
}

json::object reservation(std::string_view id, std::string_view expires_at, std::string_view run_id,
                         std::string_view branch) {
  return json::object{
      {"reservation_id", id},    {"run_id", run_id},
      {"branch", branch},        {"addresses", json::array{"src/lib.py::parse"}},
      {"operation", "edit"},     {"created_at", iso_utc(std::chrono::system_clock::now())},
      {"expires_at", expires_at}};
}

}  // namespace coordd::integration

doctest::String doctest::StringMaker<std::vector<std::string>>::convert(
    const std::vector<std::string>& strings) {
  std::string out = "{";
  for (const std::string& s : strings) out += (out.size() > 1 ? ", \"" : "\"") + s + "\"";
  return (out + "}").c_str();
}
