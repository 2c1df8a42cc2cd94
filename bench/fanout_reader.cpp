#include "bench/fanout_reader.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

#include "bench/latency.hpp"

namespace coordd::bench {
namespace {

constexpr std::uint64_t kWakeToken = ~std::uint64_t(0);

[[noreturn]] void fail(std::string_view what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

void LineSplitter::feed(std::string_view bytes, const Sink& sink) {
  while (!bytes.empty()) {
    std::size_t nl = bytes.find('\n');
    if (nl == std::string_view::npos) {
      partial_.append(bytes);
      return;
    }
    if (partial_.empty()) {
      sink(bytes.substr(0, nl));
    } else {
      partial_.append(bytes.substr(0, nl));
      sink(partial_);
      partial_.clear();
    }
    bytes.remove_prefix(nl + 1);
  }
}

FanoutReader::FanoutReader(std::vector<int> fds,
                           std::vector<std::unique_ptr<MessageSplitter>> splitters, Handler handler)
    : fds_(std::move(fds)), splitters_(std::move(splitters)), handler_(std::move(handler)) {
  if (fds_.size() != splitters_.size()) throw std::invalid_argument("one splitter per socket");
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) fail("epoll_create1");
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) fail("eventfd");
  epoll_event wake{};
  wake.events = EPOLLIN;
  wake.data.u64 = kWakeToken;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake) != 0) fail("epoll_ctl");
  for (std::size_t i = 0; i < fds_.size(); ++i) {
    ::fcntl(fds_[i], F_SETFL, ::fcntl(fds_[i], F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fds_[i], &ev) != 0) fail("epoll_ctl");
  }
  thread_ = std::thread([this] { run(); });
}

FanoutReader::~FanoutReader() {
  stop();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void FanoutReader::stop() {
  if (!thread_.joinable()) return;
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void FanoutReader::run() {
  read_all();
  timespec cpu{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
  cost_.cpu_ns = std::int64_t(cpu.tv_sec) * 1'000'000'000 + cpu.tv_nsec;
}

void FanoutReader::read_all() {
  std::vector<char> buffer(256 * 1024);
  std::vector<epoll_event> events(fds_.size() + 1);
  for (;;) {
    int n = ::epoll_wait(epoll_fd_, events.data(), int(events.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;
    for (int e = 0; e < n; ++e) {
      std::uint64_t index = events[std::size_t(e)].data.u64;
      if (index == kWakeToken) return;
      // Level-triggered: one read per readiness keeps the sockets fair; a
      // socket with more to read is reported again by the next epoll_wait.
      ssize_t got = ::read(fds_[index], buffer.data(), buffer.size());
      std::int64_t now = mono_now_ns();
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fds_[index], nullptr);
        closed_.fetch_add(1, std::memory_order_release);
        continue;
      }
      ++cost_.reads;
      cost_.bytes += std::uint64_t(got);
      splitters_[index]->feed(std::string_view(buffer.data(), std::size_t(got)),
                              [&](std::string_view message) { handler_(index, message, now); });
    }
  }
}

}  // namespace coordd::bench
