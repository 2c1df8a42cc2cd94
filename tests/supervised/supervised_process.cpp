#include "tests/supervised/supervised_process.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace coordd::integration {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kStartTimeout = 10s;
constexpr auto kStopTimeout = 5s;

std::string errno_text() { return std::strerror(errno); }

std::string read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool is_supervision_variable(std::string_view assignment) {
  return std::any_of(std::begin(kSupervisionVariables), std::end(kSupervisionVariables),
                     [&](std::string_view name) {
                       return assignment.size() > name.size() && assignment.starts_with(name) &&
                              assignment[name.size()] == '=';
                     });
}

// Our environment without what a service manager would set, plus `added`.
std::vector<std::string> child_environment(const Launch& launch, int log_fd) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (!is_supervision_variable(*entry)) env.emplace_back(*entry);
  }
  for (const auto& [name, value] : launch.env) env.push_back(name + "=" + value);
  if (launch.journal_stream_is_log) {
    struct stat st {};
    if (::fstat(log_fd, &st) != 0) FAIL("fstat " << launch.log << ": " << errno_text());
    env.push_back("JOURNAL_STREAM=" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino));
  }
  return env;
}

}  // namespace

std::string coordd_binary() {
  const char* bin = std::getenv("COORDD_BIN");
  if (bin == nullptr || *bin == '\0') {
    FAIL("COORDD_BIN is not set; run the suite with meson test, which points it at coordd");
  }
  return bin;
}

std::vector<std::string> coordd_command(const Workspace& ws, std::vector<std::string> extra_flags,
                                        WorkspaceRoot root) {
  std::string bin = coordd_binary();
  if (!fs::exists(ws.socket_dir()) && ::mkdir(ws.socket_dir().c_str(), 0700) != 0) {
    FAIL("mkdir " << ws.socket_dir() << ": " << errno_text());
  }
  std::vector<std::string> args = {bin, "--socket", ws.socket().string()};
  if (root == WorkspaceRoot::kWatched) args.insert(args.end(), {"--root", ws.repo().string()});
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  return args;
}

SupervisedProcess::SupervisedProcess(Launch launch) : log_(launch.log) {
  int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) FAIL("open " << log_ << ": " << errno_text());
  std::vector<std::string> env = child_environment(launch, log_fd);
  integration::SpawnedChild child = integration::spawn_child(launch.argv, std::move(env), log_fd);
  ::close(log_fd);
  pid_ = child.pid;
  pidfd_ = child.pidfd;
}

SupervisedProcess::~SupervisedProcess() {
  if (pid_ > 0 && !exit_code_) {
    ::kill(pid_, SIGTERM);
    if (!integration::wait_for_exit(pidfd_, Clock::now() + kStopTimeout)) ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pidfd_ >= 0) ::close(pidfd_);
}

std::string SupervisedProcess::log() const { return read_whole_file(log_); }

void SupervisedProcess::send_signal(int signal) {
  if (exit_code_) FAIL("cannot signal pid " << pid_ << ": it exited with " << *exit_code_);
  if (::kill(pid_, signal) != 0) FAIL("kill " << pid_ << ": " << errno_text());
}

void SupervisedProcess::reap() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) FAIL("waitpid: " << errno_text());
  }
  exit_code_ = exit_code_of(status);
}

bool SupervisedProcess::exits_within(std::chrono::milliseconds timeout) {
  if (exit_code_) return true;
  if (!integration::wait_for_exit(pidfd_, Clock::now() + timeout)) return false;
  reap();
  return true;
}

int SupervisedProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  if (!exits_within(timeout)) {
    FAIL("pid " << pid_ << " still runs " << timeout.count() << " ms later; its log:\n" << log());
  }
  return *exit_code_;
}

int SupervisedProcess::terminate() {
  send_signal(SIGTERM);
  return wait_for_exit(kStopTimeout);
}

void SupervisedProcess::wait_until_serving(const fs::path& socket) {
  // Start-up is the one place we poll: nothing tells us when the socket is
  // bound. A ping answered also means the initial scan is over.
  auto deadline = Clock::now() + kStartTimeout;
  for (;;) {
    CoordClient client;
    if (client.connect(socket.string())) {
      json::object pong;
      if (client.call({{"op", "ping"}}, pong, deadline) == CoordClient::Status::kOk) return;
    }
    if (Clock::now() >= deadline) {
      FAIL("nothing answered on " << socket << " within 10 s (" << client.error() << "); the log:\n"
                                  << log());
    }
    if (exits_within(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::min<Clock::duration>(deadline - Clock::now(), 10ms)))) {
      FAIL("pid " << pid_ << " exited with code " << *exit_code_ << " while starting; its log:\n"
                  << log());
    }
  }
}

EventReader SupervisedProcess::connect(const fs::path& socket) const {
  return EventReader(socket, log_);
}

void SupervisedProcess::wait_for_log(std::string_view text,
                                     std::chrono::milliseconds timeout) const {
  wait_for_text(log_, text, timeout);
}

void wait_for_text(const fs::path& path, std::string_view text, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!mentions(read_whole_file(path), text)) {
    if (Clock::now() >= deadline) {
      FAIL(path << " does not say '" << std::string(text) << "' after " << timeout.count()
                << " ms; it is:\n"
                << read_whole_file(path));
    }
    std::this_thread::sleep_for(10ms);
  }
}

std::string read_text(const fs::path& path) { return read_whole_file(path); }

std::string error_code_of(const json::object& line) {
  const json::value* type = line.if_contains("type");
  const json::value* code = line.if_contains("code");
  if (!type || *type != "error" || !code || !code->is_string()) return "";
  return std::string(code->get_string());
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

bool mentions(const std::string& text, std::string_view words) {
  return text.find(words) != std::string::npos;
}

}  // namespace coordd::integration
