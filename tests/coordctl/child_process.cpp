#include "child_process.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace coordctl_test {
namespace {

std::vector<std::string> child_environment(const std::vector<std::string>& changes) {
  std::vector<std::string> out;
  for (char** entry = environ; *entry; ++entry) out.emplace_back(*entry);
  for (const std::string& change : changes) {
    std::string name = change.substr(0, change.find('='));
    std::erase_if(
        out, [&](const std::string& e) { return e.compare(0, name.size() + 1, name + "=") == 0; });
    if (change.find('=') != std::string::npos) out.push_back(change);
  }
  return out;
}

ExitStatus decode(int status) {
  ExitStatus out;
  out.exited = WIFEXITED(status);
  if (out.exited) out.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  return out;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, std::vector<std::string> env) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
  }
  // Everything exec needs is prepared before fork: the child only dup2s and execs.
  std::vector<std::string> environment = child_environment(env);
  std::vector<char*> c_argv, c_env;
  for (std::string& arg : argv) c_argv.push_back(arg.data());
  c_argv.push_back(nullptr);
  for (std::string& entry : environment) c_env.push_back(entry.data());
  c_env.push_back(nullptr);
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::dup2(null_fd, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(c_argv[0], c_argv.data(), c_env.data());
    ::_exit(127);
  }
  ::close(null_fd);
  ::close(out[1]);
  ::close(err[1]);
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  pid_fd_ = int(::syscall(SYS_pidfd_open, pid_, 0));
}

ChildProcess::~ChildProcess() {
  if (!exit_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  for (int fd : {stdout_fd_, stderr_fd_, pid_fd_}) {
    if (fd >= 0) ::close(fd);
  }
}

std::string ChildProcess::stdout_text() const {
  std::string out;
  for (const std::string& line : lines_) out += line + "\n";
  return out + partial_;
}

void ChildProcess::send_signal(int signal) {
  if (!exit_) ::kill(pid_, signal);
}

void ChildProcess::reap_if_exited() {
  if (exit_) return;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) exit_ = decode(status);
}

bool ChildProcess::pump(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd fds[3];
  nfds_t count = 0;
  for (int fd : {stdout_fd_, stderr_fd_}) {
    if (fd >= 0) fds[count++] = pollfd{fd, POLLIN, 0};
  }
  // Once both pipes are closed, only the exit is left to wait for.
  bool exit_polled = pid_fd_ >= 0 && !exit_ && count == 0;
  if (exit_polled) fds[count++] = pollfd{pid_fd_, POLLIN, 0};
  if (count == 0) {
    reap_if_exited();
    if (!exit_) {  // no pidfd: block in waitpid, the pipes being closed
      int status = 0;
      if (::waitpid(pid_, &status, 0) == pid_) exit_ = decode(status);
    }
    return true;
  }
  int rc = ::poll(fds, count, int(left.count()) + 1);
  if (rc < 0 && errno != EINTR)
    throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
  for (nfds_t i = 0; i < count && rc > 0; ++i) {
    if (fds[i].revents == 0) continue;
    if (exit_polled && fds[i].fd == pid_fd_) {
      reap_if_exited();
      continue;
    }
    char buffer[65536];
    ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
    if (n <= 0) {
      ::close(fds[i].fd);
      (fds[i].fd == stdout_fd_ ? stdout_fd_ : stderr_fd_) = -1;
      continue;
    }
    if (fds[i].fd == stderr_fd_) {
      stderr_.append(buffer, std::size_t(n));
      continue;
    }
    partial_.append(buffer, std::size_t(n));
    for (std::size_t end; (end = partial_.find('\n')) != std::string::npos;) {
      lines_.push_back(partial_.substr(0, end));
      partial_.erase(0, end + 1);
    }
  }
  return true;
}

bool ChildProcess::read_until(const std::function<bool()>& done, std::chrono::milliseconds within) {
  Deadline deadline = std::chrono::steady_clock::now() + within;
  while (!done()) {
    if (stdout_fd_ < 0 && stderr_fd_ < 0) return done();
    if (!pump(deadline)) return done();
  }
  return true;
}

bool ChildProcess::read_lines(std::size_t count, std::chrono::milliseconds within) {
  return read_until([&] { return lines_.size() >= count; }, within);
}

bool ChildProcess::read_stderr_until(const std::string& text, std::chrono::milliseconds within) {
  return read_until([&] { return stderr_.find(text) != std::string::npos; }, within);
}

std::optional<ExitStatus> ChildProcess::wait(std::chrono::milliseconds within) {
  Deadline deadline = std::chrono::steady_clock::now() + within;
  while (!exit_) {
    if (!pump(deadline)) break;
  }
  return exit_;
}

RunResult run_to_end(std::vector<std::string> argv, std::vector<std::string> env,
                     std::chrono::milliseconds within) {
  ChildProcess child(std::move(argv), std::move(env));
  std::optional<ExitStatus> status = child.wait(within);
  REQUIRE_MESSAGE(status.has_value(),
                  "the program did not finish in time; stderr: " << child.stderr_text());
  return RunResult{*status, child.lines(), child.stdout_text(), child.stderr_text()};
}

}  // namespace coordctl_test
