#include "bench/line_reader.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench/latency.hpp"

namespace coordd::bench {

LineReader::LineReader(int fd, Handler handler)
    : fd_(fd), wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)), handler_(std::move(handler)) {
  if (wake_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  thread_ = std::thread([this] { run(); });
}

LineReader::~LineReader() {
  stop();
  ::close(wake_fd_);
}

void LineReader::stop() {
  if (!thread_.joinable()) return;
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
  thread_.join();
}

void LineReader::run() {
  std::vector<char> buffer(256 * 1024);
  std::string partial;  // a line split across reads
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  for (;;) {
    int rc = ::poll(fds, 2, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || (fds[1].revents & POLLIN)) break;
    ssize_t n = ::read(fd_, buffer.data(), buffer.size());
    std::int64_t now = mono_now_ns();
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    std::string_view chunk(buffer.data(), std::size_t(n));
    while (!chunk.empty()) {
      std::size_t nl = chunk.find('\n');
      if (nl == std::string_view::npos) {
        partial.append(chunk);
        break;
      }
      if (partial.empty()) {
        handler_(chunk.substr(0, nl), now);
      } else {
        partial.append(chunk.substr(0, nl));
        handler_(partial, now);
        partial.clear();
      }
      chunk.remove_prefix(nl + 1);
    }
  }
  ended_.store(true, std::memory_order_release);
}

}  // namespace coordd::bench
