#include "bench/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "bench/latency.hpp"

extern char** environ;

namespace coordd::bench {
namespace {

// Live children, for the signal handler: lock-free slots, 0 = free.
constexpr std::size_t kMaxChildren = 256;
std::atomic<pid_t> live_children[kMaxChildren];

void register_child(pid_t pid) {
  for (auto& slot : live_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void unregister_child(pid_t pid) {
  for (auto& slot : live_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

extern "C" void emergency_stop(int sig) {
  for (auto& slot : live_children) {
    pid_t pid = slot.load();
    if (pid > 0) ::kill(-pid, SIGKILL);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

std::string errno_text() { return std::strerror(errno); }

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// The environment with `extra` added, "NAME=" entries of `extra` replacing ours.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    std::string_view name = entry.substr(0, entry.find('=') + 1);
    bool replaced = false;
    for (const std::string& x : extra) replaced = replaced || x.starts_with(name);
    if (!replaced) out.emplace_back(entry);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  auto deadline = mono_now_ns() + std::int64_t(timeout.count()) * 1'000'000;
  for (;;) {
    auto left_ms = (deadline - mono_now_ns()) / 1'000'000;
    int rc = ::poll(&pfd, 1, int(std::max<std::int64_t>(left_ms, 0)));
    if (rc > 0) return true;
    if (rc == 0 || errno != EINTR) return false;
  }
}

}  // namespace

std::string find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) return is_executable(program) ? program : "";
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    std::size_t colon = dirs.find(':');
    std::string candidate = std::string(dirs.substr(0, colon)) + "/" + program;
    if (is_executable(candidate)) return candidate;
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
  }
  return "";
}

void install_emergency_stop() {
  struct sigaction sa {};
  sa.sa_handler = emergency_stop;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

ChildProcess::ChildProcess(std::vector<std::string> argv, ChildOptions options) {
  argv0_ = find_program(argv.at(0));
  if (argv0_.empty()) throw std::runtime_error(argv[0] + ": no such program in PATH");
  argv[0] = argv0_;
  // Everything the child needs is built before fork: only async-signal-safe
  // calls may follow it while other threads of ours run.
  std::vector<std::string> env = merged_environment(options.env);
  std::vector<char*> argv_ptrs, env_ptrs;
  for (std::string& a : argv) argv_ptrs.push_back(a.data());
  argv_ptrs.push_back(nullptr);
  for (std::string& e : env) env_ptrs.push_back(e.data());
  env_ptrs.push_back(nullptr);

  std::string out_path = options.output_path.empty() ? "/dev/null" : options.output_path;
  int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (out_fd < 0) throw std::runtime_error("open " + out_path + ": " + errno_text());
  int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  int pipe_fds[2] = {-1, -1};
  if (options.capture_stdout && ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ::close(out_fd);
    ::close(null_fd);
    throw std::runtime_error("pipe: " + errno_text());
  }

  pid_t parent = ::getpid();
  started_ns_ = mono_now_ns();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(null_fd, STDIN_FILENO);
    ::dup2(pipe_fds[1] >= 0 ? pipe_fds[1] : out_fd, STDOUT_FILENO);
    ::dup2(out_fd, STDERR_FILENO);
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
    ::execve(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(out_fd);
  ::close(null_fd);
  if (pipe_fds[1] >= 0) ::close(pipe_fds[1]);
  if (pid_ < 0) {
    if (pipe_fds[0] >= 0) ::close(pipe_fds[0]);
    throw std::runtime_error("fork: " + std::string(std::strerror(fork_errno)));
  }
  ::setpgid(pid_, pid_);  // also here, so a kill(-pid) right away finds the group
  register_child(pid_);
  stdout_fd_ = pipe_fds[0];
  // glibc 2.36's <sys/pidfd.h> lacks extern "C", so call the kernel directly.
  pidfd_ = int(::syscall(SYS_pidfd_open, pid_, 0));
}

ChildProcess::~ChildProcess() {
  stop();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (pidfd_ >= 0) ::close(pidfd_);
}

ChildExit ChildProcess::reap() {
  int status = 0;
  rusage usage{};
  while (::wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  ChildExit out;
  out.code = exit_code_of(status);
  out.max_rss_kib = usage.ru_maxrss;
  out.reaped_ns = mono_now_ns();
  unregister_child(pid_);
  exit_ = out;
  return out;
}

std::optional<ChildExit> ChildProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (exit_) return exit_;
  if (pidfd_ >= 0 && !wait_readable(pidfd_, timeout)) return std::nullopt;
  return reap();
}

ChildExit ChildProcess::stop(std::chrono::milliseconds grace) {
  if (exit_) return *exit_;
  ::kill(-pid_, SIGTERM);
  if (pidfd_ < 0 || !wait_readable(pidfd_, grace)) ::kill(-pid_, SIGKILL);
  return reap();
}

}  // namespace coordd::bench
