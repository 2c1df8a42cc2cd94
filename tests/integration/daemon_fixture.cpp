#include "tests/integration/daemon_fixture.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

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

std::string coordd_binary() {
  const char* bin = std::getenv("COORDD_BIN");
  if (bin == nullptr || *bin == '\0') {
    FAIL("COORDD_BIN is not set; run the suite with meson test, which points it at coordd");
  }
  return bin;
}

int reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) FAIL("waitpid: " << errno_text());
  }
  return exit_code_of(status);
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

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Waits until the process behind `pidfd` exits or `deadline` passes. An
// exited child is readable on its pidfd, so this is a wait, not a poll loop.
bool wait_for_exit(int pidfd, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) left = 0ms;
    pollfd pfd{pidfd, POLLIN, 0};
    int rc = ::poll(&pfd, 1, int(left.count()));
    if (rc > 0) return true;
    if (rc == 0) return false;
    if (errno != EINTR) return false;  // callers fall back to SIGKILL and waitpid
  }
}

SpawnedChild spawn_child(std::vector<std::string> argv,
                         std::optional<std::vector<std::string>> env, int output_fd) {
  std::vector<char*> args;
  for (std::string& arg : argv) args.push_back(arg.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (env) {
    for (std::string& entry : *env) envp.push_back(entry.data());
    envp.push_back(nullptr);
  }
  SpawnedChild child;
  pid_t parent = ::getpid();
  child.pid = ::fork();
  if (child.pid < 0) FAIL("fork: " << errno_text());
  if (child.pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(output_fd, STDOUT_FILENO);
    ::dup2(output_fd, STDERR_FILENO);
    ::execve(args[0], args.data(), env ? envp.data() : environ);
    ::_exit(127);
  }
  // glibc 2.36's <sys/pidfd.h> lacks extern "C", so call the kernel directly.
  child.pidfd = int(::syscall(SYS_pidfd_open, child.pid, 0));
  if (child.pidfd < 0) FAIL("pidfd_open: " << errno_text());
  return child;
}

bool polling_backend() {
  const char* backend = std::getenv("COORDD_TEST_BACKEND");
  return backend != nullptr && std::string_view(backend) == "poll";
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base && *base ? base : "/tmp") + "/coordd-integ-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) FAIL("mkdtemp " << pattern << ": " << errno_text());
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

Workspace::Workspace(Layout layout) {
  fs::create_directory(tmp_.path() / "repo");
  repo_ = fs::canonical(tmp_.path() / "repo");
  if (layout == Layout::kFullTree) {
    for (std::string_view plural :
         {"reservations", "intents", "releases", "heartbeats", "tasks", "claims", "dependencies"}) {
      fs::create_directories(kind_dir(plural));
    }
  }
}

DaemonProcess::DaemonProcess(const Workspace& ws, std::vector<std::string> extra_flags)
    : DaemonProcess(ws, std::move(extra_flags), true) {}

DaemonProcess::DaemonProcess(const Workspace& ws, std::vector<std::string> extra_flags,
                             bool wait_ready)
    : socket_(ws.socket()) {
  static int runs = 0;  // one log per daemon, several daemons per workspace
  log_path_ = ws.scratch("coordd-" + std::to_string(++runs) + ".log");
  if (!fs::exists(ws.socket_dir()) && ::mkdir(ws.socket_dir().c_str(), 0700) != 0) {
    FAIL("mkdir " << ws.socket_dir() << ": " << errno_text());
  }

  std::vector<std::string> args = {coordd_binary(), "--root", ws.repo().string(), "--socket",
                                   socket_.string()};
  // COORDD_TEST_BACKEND runs the whole suite against one watch backend.
  if (const char* backend = std::getenv("COORDD_TEST_BACKEND"); backend && *backend) {
    args.insert(args.end(), {"--backend", backend, "--poll-interval", "0.05"});
  }
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());

  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) FAIL("open " << log_path_ << ": " << errno_text());
  SpawnedChild child = spawn_child(std::move(args), std::nullopt, log_fd);
  ::close(log_fd);
  pid_ = child.pid;
  pidfd_ = child.pidfd;
  if (!wait_ready) return;
  try {
    wait_until_serving();
  } catch (...) {
    stop_quietly();  // no destructor runs for a half-built object
    throw;
  }
}

DaemonProcess::~DaemonProcess() { stop_quietly(); }

void DaemonProcess::stop_quietly() noexcept {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGTERM);
    if (!wait_for_exit(pidfd_, Clock::now() + kStopTimeout)) ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    exit_code_ = exit_code_of(status);
  }
  if (pidfd_ >= 0) ::close(pidfd_);
  pidfd_ = -1;
}

DaemonExit DaemonProcess::run_expecting_exit(const Workspace& ws,
                                             std::vector<std::string> extra_flags) {
  DaemonProcess daemon(ws, std::move(extra_flags), false);
  if (!wait_for_exit(daemon.pidfd_, Clock::now() + kStartTimeout)) {
    FAIL("coordd was expected to refuse to start, but it still runs after 10 s; its log:\n"
         << daemon.log());
  }
  daemon.exit_code_ = reap(daemon.pid_);
  return DaemonExit{*daemon.exit_code_, daemon.log()};
}

void DaemonProcess::wait_until_serving() {
  // Start-up is the one place we poll: nothing tells us when the socket is
  // bound. A ping answered also means the initial scan is over.
  auto deadline = Clock::now() + kStartTimeout;
  for (;;) {
    CoordClient client;
    if (client.connect(socket_.string())) {
      json::object pong;
      if (client.call({{"op", "ping"}}, pong, deadline) == CoordClient::Status::kOk) return;
    }
    if (Clock::now() >= deadline) {
      FAIL("coordd did not answer on " << socket_ << " within 10 s (" << client.error()
                                       << "); its log:\n"
                                       << log());
    }
    if (wait_for_exit(pidfd_, std::min(deadline, Clock::now() + 10ms))) {
      exit_code_ = reap(pid_);
      FAIL("coordd exited with code " << *exit_code_ << " while starting; its log:\n" << log());
    }
  }
}

EventReader DaemonProcess::connect() const { return EventReader(socket_, log_path_); }

int DaemonProcess::terminate() {
  if (exit_code_) return *exit_code_;
  if (::kill(pid_, SIGTERM) != 0) FAIL("kill: " << errno_text());
  if (!wait_for_exit(pidfd_, Clock::now() + kStopTimeout)) {
    ::kill(pid_, SIGKILL);
    exit_code_ = reap(pid_);
    FAIL("coordd did not exit within 5 s of SIGTERM; its log:\n" << log());
  }
  exit_code_ = reap(pid_);
  return *exit_code_;
}

std::string DaemonProcess::log() const { return read_whole_file(log_path_); }

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
