// NotifySocket: the service manager's end of sd_notify(3). A datagram socket
// the test binds at a path or an @abstract name and hands to coordd as
// NOTIFY_SOCKET; it reads the notifications with the kernel's receive time,
// so gaps between watchdog pings are measured as they arrived, however late
// the test reads them. Every wait has a deadline. Test thread only.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::integration {

using WallTime = std::chrono::system_clock::time_point;

// One datagram: "READY=1\nSTATUS=...\nMAINPID=...".
struct Notification {
  std::string text;
  WallTime received;  // by the kernel (SO_TIMESTAMPNS), on the wall clock

  // The value of `name`=..., if the datagram assigns it.
  std::optional<std::string> field(std::string_view name) const;
  bool says(std::string_view assignment) const;  // "READY=1", "WATCHDOG=1"
};

class NotifySocket {
 public:
  // `address` is what NOTIFY_SOCKET will say: an absolute path, or "@name"
  // for Linux's abstract namespace.
  explicit NotifySocket(std::string address);
  ~NotifySocket();
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& address() const { return address_; }

  // The next datagram, or nothing when none comes within `timeout`.
  std::optional<Notification> receive(std::chrono::milliseconds timeout);
  // Reads until a datagram that says `assignment`; returns it. Fails the
  // test, listing what came instead, when none does within `timeout`.
  Notification wait_for(std::string_view assignment,
                        std::chrono::milliseconds timeout = kLineTimeout);
  // Every datagram that says `assignment`, read until `count` of them came
  // (failing the test after `timeout`).
  std::vector<Notification> collect(std::string_view assignment, std::size_t count,
                                    std::chrono::milliseconds timeout);
  // Every datagram received so far, in order.
  const std::vector<Notification>& history() const { return history_; }

 private:
  std::string address_;
  int fd_ = -1;
  std::vector<Notification> history_;
};

// A name for an @abstract NOTIFY_SOCKET no other test run uses.
std::string unique_abstract_address();

}  // namespace coordd::integration
