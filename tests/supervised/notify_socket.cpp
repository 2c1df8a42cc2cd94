#include "tests/supervised/notify_socket.hpp"

#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <random>

namespace coordd::integration {
namespace {

using Clock = std::chrono::steady_clock;

std::string errno_text() { return std::strerror(errno); }

WallTime wall_time_of(const timespec& ts) {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(
      std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
}

}  // namespace

std::optional<std::string> Notification::field(std::string_view name) const {
  std::string_view rest = text;
  while (!rest.empty()) {
    std::string_view line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == '=') {
      return std::string(line.substr(name.size() + 1));
    }
  }
  return std::nullopt;
}

bool Notification::says(std::string_view assignment) const {
  auto equals = assignment.find('=');
  std::optional<std::string> value = field(assignment.substr(0, equals));
  return value && *value == assignment.substr(equals + 1);
}

std::string unique_abstract_address() {
  std::random_device random;
  return "@coordd-test-notify-" + std::to_string(::getpid()) + "-" + std::to_string(random());
}

NotifySocket::NotifySocket(std::string address) : address_(std::move(address)) {
  sockaddr_un addr{};
  if (address_.empty() || address_.size() >= sizeof addr.sun_path) {
    FAIL("NOTIFY_SOCKET address '" << address_ << "' is empty or too long");
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, address_.data(), address_.size());
  if (address_[0] == '@') addr.sun_path[0] = '\0';
  auto len = socklen_t(offsetof(sockaddr_un, sun_path) + address_.size());
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) FAIL("socket: " << errno_text());
  int on = 1;
  if (::setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) != 0) {
    FAIL("setsockopt SO_TIMESTAMPNS: " << errno_text());
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    FAIL("bind NOTIFY_SOCKET " << address_ << ": " << errno_text());
  }
}

NotifySocket::~NotifySocket() {
  if (fd_ >= 0) ::close(fd_);
  if (!address_.empty() && address_[0] == '/') ::unlink(address_.c_str());
}

std::optional<Notification> NotifySocket::receive(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{fd_, POLLIN, 0};
    int rc = ::poll(&pfd, 1, int(std::max<long long>(left.count(), 0)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) FAIL("poll NOTIFY_SOCKET: " << errno_text());
    if (rc == 0) return std::nullopt;

    char data[4096];
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n = ::recvmsg(fd_, &msg, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) FAIL("recvmsg NOTIFY_SOCKET: " << errno_text());
    Notification out{std::string(data, std::size_t(n)), std::chrono::system_clock::now()};
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
        timespec ts{};
        std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
        out.received = wall_time_of(ts);
      }
    }
    history_.push_back(out);
    return out;
  }
}

Notification NotifySocket::wait_for(std::string_view assignment,
                                    std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::size_t first = history_.size();
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    std::optional<Notification> got = receive(std::max(left, 0ms));
    if (got && got->says(assignment)) return *got;
    if (!got) {
      std::string seen;
      for (std::size_t i = first; i < history_.size(); ++i) seen += "\n  " + history_[i].text;
      FAIL("no " << std::string(assignment) << " on NOTIFY_SOCKET within " << timeout.count()
                 << " ms; received " << history_.size() - first << " other datagram(s):" << seen);
    }
  }
}

std::vector<Notification> NotifySocket::collect(std::string_view assignment, std::size_t count,
                                                std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::vector<Notification> out;
  while (out.size() < count) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    std::optional<Notification> got = receive(std::max(left, 0ms));
    if (!got) {
      FAIL("only " << out.size() << " of " << count << " " << std::string(assignment)
                   << " datagram(s) arrived within " << timeout.count() << " ms");
    }
    if (got->says(assignment)) out.push_back(*got);
  }
  return out;
}

}  // namespace coordd::integration
