#include "tests/supervised/supervised_process.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "tests/support/poll_until.hpp"

namespace coordd::integration {
namespace {

constexpr auto kStartTimeout = 10s;
constexpr auto kStopTimeout = 5s;

std::string errno_text() { return std::strerror(errno); }

std::string read_whole_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// "<st_dev>:<st_ino>" of the log, made (empty) here so that it has an inode
// before the child starts; the child opens the same file.
std::string journal_stream_of(const fs::path& log) {
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) FAIL("open " << log << ": " << errno_text());
  struct stat st {};
  int rc = ::fstat(fd, &st);
  ::close(fd);
  if (rc != 0) FAIL("fstat " << log << ": " << errno_text());
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

// Our environment without what a service manager would set, plus what the
// launch names; stdout and stderr to its log.
support::ChildOptions supervised_options(const Launch& launch) {
  support::ChildOptions options;
  for (std::string_view name : kSupervisionVariables) options.env.emplace_back(name);
  for (const auto& [name, value] : launch.env) options.env.push_back(name + "=" + value);
  if (launch.journal_stream_is_log) {
    options.env.push_back("JOURNAL_STREAM=" + journal_stream_of(launch.log));
  }
  options.stdout_to = support::Output::kLog;
  options.stderr_to = support::Output::kLog;
  options.log = launch.log;
  options.stop_grace = kStopTimeout;
  return options;
}

}  // namespace

std::vector<std::string> coordd_command(const Workspace& ws, std::vector<std::string> extra_flags,
                                        WorkspaceRoot root) {
  std::string bin = coordd_binary();
  ws.make_socket_dir();
  std::vector<std::string> args = {bin, "--socket", ws.socket().string()};
  if (root == WorkspaceRoot::kWatched) args.insert(args.end(), {"--root", ws.repo().string()});
  args.insert(args.end(), {"--state-dir", ws.state_dir().string()});
  args.insert(args.end(), extra_flags.begin(), extra_flags.end());
  return args;
}

SupervisedProcess::SupervisedProcess(const Launch& launch)
    : log_(launch.log), child_(launch.argv, supervised_options(launch)) {}

std::string SupervisedProcess::log() const { return read_whole_file(log_); }

void SupervisedProcess::send_signal(int signal) {
  if (child_.exit_status()) {
    FAIL("cannot signal pid " << pid() << ": it exited with " << exit_code());
  }
  if (!child_.send_signal(signal)) FAIL("kill " << pid() << ": " << errno_text());
}

bool SupervisedProcess::exits_within(std::chrono::milliseconds timeout) {
  return child_.wait(timeout).has_value();
}

int SupervisedProcess::wait_for_exit(std::chrono::milliseconds timeout) {
  if (!exits_within(timeout)) {
    FAIL("pid " << pid() << " still runs " << timeout.count() << " ms later; its log:\n" << log());
  }
  return exit_code();
}

int SupervisedProcess::terminate() {
  send_signal(SIGTERM);
  return wait_for_exit(kStopTimeout);
}

void SupervisedProcess::wait_until_serving(const fs::path& socket) {
  std::string why;
  switch (wait_for_ping(socket, child_, kStartTimeout, why)) {
    case Serving::kYes:
      return;
    case Serving::kTimedOut:
      FAIL("nothing answered on " << socket << " within 10 s (" << why << "); the log:\n" << log());
      return;
    case Serving::kExited:
      FAIL("pid " << pid() << " exited with code " << exit_code() << " while starting; its log:\n"
                  << log());
      return;
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
  if (!support::poll_until(timeout, [&] { return mentions(read_whole_file(path), text); })) {
    FAIL(path << " does not say '" << std::string(text) << "' after " << timeout.count()
              << " ms; it is:\n"
              << read_whole_file(path));
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
