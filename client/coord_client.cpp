#include "client/coord_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "client/exact_json.hpp"
#include "client/server_trust.hpp"

namespace coordd {

CoordClient::~CoordClient() { close(); }

CoordClient::CoordClient(CoordClient&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      no_daemon_(other.no_daemon_),
      error_(std::move(other.error_)),
      framer_(std::move(other.framer_)),
      pending_(std::move(other.pending_)),
      next_req_(other.next_req_) {}

CoordClient& CoordClient::operator=(CoordClient&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    no_daemon_ = other.no_daemon_;
    error_ = std::move(other.error_);
    framer_ = std::move(other.framer_);
    pending_ = std::move(other.pending_);
    next_req_ = other.next_req_;
  }
  return *this;
}

void CoordClient::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  // A later connect() starts a new stream: nothing half-read may leak into it.
  framer_ = NdjsonFramer(kMaxReplyBytes);
  pending_.clear();
}

void CoordClient::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool CoordClient::connect(const std::string& socket_path) {
  close();
  no_daemon_ = false;
  sockaddr_un addr{};
  if (socket_path.size() >= sizeof addr.sun_path) {
    error_ = "socket path is too long: " + socket_path;
    return false;
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error_ = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  std::vector<uid_t> trusted = trusted_server_uids();
  if (std::string untrusted = check_socket_directory(socket_path, trusted); !untrusted.empty()) {
    ::close(fd);
    error_ = untrusted;
    return false;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    no_daemon_ = err == ENOENT || err == ECONNREFUSED;
    error_ = "cannot connect to " + socket_path + ": " + std::strerror(err);
    return false;
  }
  if (std::string untrusted = check_server_peer(fd, trusted); !untrusted.empty()) {
    ::close(fd);
    error_ = untrusted;
    return false;
  }
  fd_ = fd;
  return true;
}

CoordClient::Status CoordClient::wait(short events, Deadline deadline) {
  for (;;) {
    int timeout_ms = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return Status::kTimeout;
      timeout_ms = int(std::min<long long>(left.count() + 1, 1 << 30));
    }
    pollfd pfd{fd_, events, 0};
    int rc = ::poll(&pfd, 1, timeout_ms);
    if (rc < 0 && errno == EINTR) return Status::kInterrupted;
    if (rc < 0) {
      error_ = std::string("poll: ") + std::strerror(errno);
      return Status::kError;
    }
    if (rc > 0) return Status::kOk;
  }
}

CoordClient::Status CoordClient::send_line(std::string_view line, Deadline deadline) {
  if (fd_ < 0) {
    error_ = "not connected";
    return Status::kError;
  }
  std::string data(line);
  data += '\n';
  std::size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent += std::size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      Status status = wait(POLLOUT, deadline);
      if (status != Status::kOk) return status;
      continue;
    }
    if (n < 0 && (errno == EPIPE || errno == ECONNRESET)) return Status::kClosed;
    error_ = std::string("send: ") + std::strerror(errno);
    return Status::kError;
  }
  return Status::kOk;
}

CoordClient::Status CoordClient::send(const boost::json::object& request, Deadline deadline) {
  return send_line(boost::json::serialize(request), deadline);
}

CoordClient::Status CoordClient::read_line(std::string& line, Deadline deadline) {
  if (!pending_.empty()) {
    line = std::move(pending_.front());
    pending_.pop_front();
    return Status::kOk;
  }
  if (fd_ < 0) {
    error_ = "not connected";
    return Status::kError;
  }
  char buffer[64 * 1024];
  for (;;) {
    std::string_view frame;
    switch (framer_.next(frame)) {
      case NdjsonFramer::Status::kFrame:
        line.assign(frame);
        return Status::kOk;
      case NdjsonFramer::Status::kTooLarge:
        error_ = "reply line too large";
        return Status::kError;
      case NdjsonFramer::Status::kNeedMore:
        break;
    }
    Status status = wait(POLLIN, deadline);
    if (status != Status::kOk) return status;
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0) return Status::kClosed;
    if (n < 0) {
      if (errno == EINTR) return Status::kInterrupted;
      if (errno == EAGAIN || errno == EWOULDBLOCK) continue;
      if (errno == ECONNRESET) return Status::kClosed;
      error_ = std::string("recv: ") + std::strerror(errno);
      return Status::kError;
    }
    framer_.feed(std::string_view(buffer, std::size_t(n)));
  }
}

CoordClient::Status CoordClient::call(boost::json::object request, boost::json::object& reply,
                                      Deadline deadline) {
  std::string req = "coordctl-" + std::to_string(next_req_++);
  request["req"] = req;
  Status status = send(request, deadline);
  if (status != Status::kOk) return status;
  std::deque<std::string> set_aside;
  std::string line;
  for (;;) {
    // Read from the socket only: lines set aside earlier keep their place.
    std::deque<std::string> earlier;
    earlier.swap(pending_);
    status = read_line(line, deadline);
    earlier.swap(pending_);
    if (status != Status::kOk) break;
    boost::system::error_code ec;
    boost::json::value value = parse_exact_json(line, ec);
    if (!ec && value.is_object()) {
      const boost::json::object& obj = value.get_object();
      auto it = obj.find("req");
      if (it != obj.end() && it->value().is_string() && it->value().get_string() == req) {
        reply = obj;
        break;
      }
    }
    set_aside.push_back(std::move(line));
  }
  for (auto& kept : set_aside) pending_.push_back(std::move(kept));
  return status;
}

}  // namespace coordd
