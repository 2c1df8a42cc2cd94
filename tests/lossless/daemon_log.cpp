#include "tests/lossless/daemon_log.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

namespace coordd::lossless {

std::size_t occurrences(std::string_view text, std::string_view what) {
  std::size_t count = 0;
  for (std::size_t at = text.find(what); at != std::string_view::npos;
       at = text.find(what, at + what.size())) {
    ++count;
  }
  return count;
}

bool wait_for_log(const integration::Workspace& ws, const integration::DaemonProcess& daemon,
                  std::string_view what, std::size_t times, std::chrono::milliseconds timeout) {
  int fd = ::inotify_init1(IN_CLOEXEC);
  REQUIRE(fd >= 0);
  // Watch before the first look, so no write falls between the two.
  REQUIRE(::inotify_add_watch(fd, ws.scratch("").c_str(), IN_MODIFY) >= 0);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool found = false;
  while (!(found = occurrences(daemon.log(), what) >= times)) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, int(left.count())) > 0) {
      char events[4096];
      [[maybe_unused]] ssize_t drained = ::read(fd, events, sizeof events);
    }
  }
  ::close(fd);
  return found;
}

}  // namespace coordd::lossless
