#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "tests/support/emergency_stop.hpp"

extern char** environ;

namespace coordd::support {
namespace {

using Clock = ChildProcess::Clock;

[[noreturn]] void throw_errno(const std::string& what, int err) {
  throw std::runtime_error(what + ": " + std::strerror(err));
}

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// One descriptor, closed unless released.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

Fd open_or_throw(const std::string& path, int flags, mode_t mode = 0) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) throw_errno("open " + path, errno);
  return Fd(fd);
}

// The child's standard streams (-1: left as inherited) and our pipe ends.
struct Plumbing {
  Fd child[3];
  Fd ours[3];
};

void pipe_stream(Plumbing& plumbing, int stream) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2", errno);
  bool child_reads = stream == STDIN_FILENO;
  plumbing.child[stream] = Fd(fds[child_reads ? 0 : 1]);
  plumbing.ours[stream] = Fd(fds[child_reads ? 1 : 0]);
}

Plumbing plumb(const ChildOptions& options) {
  Plumbing plumbing;
  if (options.stdin_from == Input::kNull) {
    plumbing.child[0] = open_or_throw("/dev/null", O_RDONLY);
  } else if (options.stdin_from == Input::kPipe) {
    pipe_stream(plumbing, STDIN_FILENO);
  }
  Fd log;
  for (auto [stream, output] : {std::pair{1, options.stdout_to}, std::pair{2, options.stderr_to}}) {
    switch (output) {
      case Output::kInherit:
        break;
      case Output::kNull:
        plumbing.child[stream] = open_or_throw("/dev/null", O_WRONLY);
        break;
      case Output::kLog:
        if (options.log.empty()) throw std::invalid_argument("Output::kLog without a log path");
        if (log.get() < 0) {
          log = open_or_throw(options.log.string(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        }
        plumbing.child[stream] = Fd(::fcntl(log.get(), F_DUPFD_CLOEXEC, 0));
        if (plumbing.child[stream].get() < 0) throw_errno("dup " + options.log.string(), errno);
        break;
      case Output::kPipe:
      case Output::kCollect:
        pipe_stream(plumbing, stream);
        break;
    }
  }
  return plumbing;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// What the child does between fork and exec: async-signal-safe calls only.
struct ExecPlan {
  char** argv;
  char** envp;
  int streams[3];
  pid_t parent;
  int death_signal;
  bool own_group;
};

[[noreturn]] void exec_child(const ExecPlan& plan) {
  if (plan.own_group) ::setpgid(0, 0);
  if (plan.death_signal != 0) {
    ::prctl(PR_SET_PDEATHSIG, plan.death_signal);
    if (::getppid() != plan.parent) ::_exit(127);  // the parent died before prctl
  }
  for (int stream = 0; stream < 3; ++stream) {
    if (plan.streams[stream] >= 0) ::dup2(plan.streams[stream], stream);
  }
  ::syscall(SYS_close_range, 3u, ~0u, 0u);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
  ::execve(plan.argv[0], plan.argv, plan.envp);
  ::_exit(127);
}

ExitStatus decode(int status, const rusage& usage) {
  ExitStatus out;
  out.exited = WIFEXITED(status);
  if (out.exited) out.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) out.signal = WTERMSIG(status);
  out.max_rss_kib = usage.ru_maxrss;
  out.reaped_at = Clock::now();
  return out;
}

// Waits until `fd` is readable or `deadline` passes (0 ms: just looks).
bool wait_readable(int fd, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{fd, POLLIN, 0};
    int rc = ::poll(&pfd, 1, int(std::max<std::int64_t>(left.count(), 0)));
    if (rc > 0) return true;
    if (rc == 0 || errno != EINTR) return false;
  }
}

}  // namespace

int ExitStatus::shell_code() const {
  if (exited) return code;
  return signal != 0 ? 128 + signal : -1;
}

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

std::vector<std::string> environment_with(const std::vector<std::string>& changes) {
  std::vector<std::string> out;
  for (char** entry = environ; *entry != nullptr; ++entry) out.emplace_back(*entry);
  for (const std::string& change : changes) {
    std::string prefix = change.substr(0, change.find('=')) + "=";
    std::erase_if(out, [&](const std::string& entry) { return entry.starts_with(prefix); });
    if (change.find('=') != std::string::npos) out.push_back(change);
  }
  return out;
}

ChildProcess::ChildProcess(std::vector<std::string> argv, ChildOptions options)
    : options_(std::move(options)) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: an empty argv");
  program_ = find_program(argv[0]);
  if (program_.empty()) {
    throw std::runtime_error(argv[0] + (argv[0].find('/') == std::string::npos
                                            ? ": no such program in PATH"
                                            : ": not an executable file"));
  }
  argv[0] = program_;
  start(argv);
}

void ChildProcess::start(std::vector<std::string>& argv) {
  // Everything the child needs is made before fork: only async-signal-safe
  // calls may follow it while other threads of ours run.
  std::vector<std::string> env = environment_with(options_.env);
  std::vector<char*> c_argv = pointers(argv);
  std::vector<char*> c_env = pointers(env);
  Plumbing plumbing = plumb(options_);
  ExecPlan plan{c_argv.data(),
                c_env.data(),
                {plumbing.child[0].get(), plumbing.child[1].get(), plumbing.child[2].get()},
                ::getpid(),
                options_.death_signal,
                options_.own_process_group};

  started_at_ = Clock::now();
  pid_ = ::fork();
  if (pid_ == 0) exec_child(plan);
  if (pid_ < 0) throw_errno("fork", errno);
  // Also here, so that a kill of the group right away finds it.
  if (options_.own_process_group) ::setpgid(pid_, pid_);
  kill_target_ = options_.own_process_group ? -pid_ : pid_;
  track_child(kill_target_);
  // glibc 2.36's <sys/pidfd.h> lacks extern "C", so call the kernel directly.
  pidfd_ = int(::syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd_ < 0) {
    int err = errno;
    ::kill(kill_target_, SIGKILL);
    reap();
    throw_errno("pidfd_open", err);
  }
  in_fd_ = plumbing.ours[0].release();
  out_fd_ = plumbing.ours[1].release();
  err_fd_ = plumbing.ours[2].release();
}

ChildProcess::~ChildProcess() {
  stop(options_.stop_grace);
  for (int fd : {in_fd_, out_fd_, err_fd_, pidfd_}) {
    if (fd >= 0) ::close(fd);
  }
}

void ChildProcess::close_stdin() {
  if (in_fd_ >= 0) ::close(in_fd_);
  in_fd_ = -1;
}

bool ChildProcess::send_signal(int signal) {
  if (exit_) {
    errno = ESRCH;
    return false;
  }
  return ::kill(kill_target_, signal) == 0;
}

ExitStatus ChildProcess::reap() {
  int status = 0;
  rusage usage{};
  while (::wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
  }
  untrack_child(kill_target_);
  exit_ = decode(status, usage);
  return *exit_;
}

std::optional<ExitStatus> ChildProcess::wait(std::chrono::milliseconds within) {
  return wait_until(Clock::now() + within);
}

std::optional<ExitStatus> ChildProcess::wait_until(Clock::time_point deadline) {
  while (!exit_) {
    if (collecting()) {
      if (!pump(deadline)) break;
      continue;
    }
    if (!wait_readable(pidfd_, deadline)) break;
    reap();
  }
  return exit_;
}

ExitStatus ChildProcess::stop(std::chrono::milliseconds grace) {
  if (exit_) return *exit_;
  if (grace.count() > 0 && send_signal(SIGTERM)) {
    if (wait(grace)) return *exit_;
  }
  ::kill(kill_target_, SIGKILL);
  return reap();
}

std::string ChildProcess::stdout_text() const {
  std::string out;
  for (const std::string& line : lines_) out += line + "\n";
  return out + partial_;
}

bool ChildProcess::collecting() const {
  return (options_.stdout_to == Output::kCollect && out_fd_ >= 0) ||
         (options_.stderr_to == Output::kCollect && err_fd_ >= 0);
}

bool ChildProcess::pump(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd fds[2];
  int* owners[2];
  nfds_t count = 0;
  if (options_.stdout_to == Output::kCollect && out_fd_ >= 0) owners[count++] = &out_fd_;
  if (options_.stderr_to == Output::kCollect && err_fd_ >= 0) owners[count++] = &err_fd_;
  for (nfds_t i = 0; i < count; ++i) fds[i] = pollfd{*owners[i], POLLIN, 0};
  if (count == 0) return true;
  int rc = ::poll(fds, count, int(left.count()) + 1);
  if (rc < 0) return errno == EINTR;
  for (nfds_t i = 0; i < count; ++i) {
    if (fds[i].revents != 0) read_some(*owners[i]);
  }
  return true;
}

void ChildProcess::read_some(int& fd) {
  char buffer[65536];
  ssize_t n = ::read(fd, buffer, sizeof buffer);
  if (n < 0 && errno == EINTR) return;
  if (n <= 0) {
    ::close(fd);
    fd = -1;
    return;
  }
  if (&fd == &err_fd_) {
    stderr_.append(buffer, std::size_t(n));
    return;
  }
  partial_.append(buffer, std::size_t(n));
  for (std::size_t end; (end = partial_.find('\n')) != std::string::npos;) {
    lines_.push_back(partial_.substr(0, end));
    partial_.erase(0, end + 1);
  }
}

bool ChildProcess::read_until(const std::function<bool()>& done, std::chrono::milliseconds within) {
  Clock::time_point deadline = Clock::now() + within;
  while (!done()) {
    if (!collecting() || !pump(deadline)) return done();
  }
  return true;
}

bool ChildProcess::read_lines(std::size_t count, std::chrono::milliseconds within) {
  return read_until([&] { return lines_.size() >= count; }, within);
}

bool ChildProcess::read_stderr_until(std::string_view text, std::chrono::milliseconds within) {
  return read_until([&] { return stderr_.find(text) != std::string::npos; }, within);
}

}  // namespace coordd::support
