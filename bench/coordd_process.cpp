#include "bench/coordd_process.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace coordd::bench {
namespace {

namespace json = boost::json;

constexpr std::size_t kLogTailBytes = 2000;

int bind_notify_socket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  if (fd < 0 || path.size() >= sizeof addr.sun_path) {
    throw std::runtime_error("cannot make the notify socket " + path);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error("bind " + path + ": " + std::strerror(err));
  }
  return fd;
}

}  // namespace

CoorddProcess::CoorddProcess(const std::string& binary, const Workspace& workspace,
                             std::vector<std::string> extra_flags,
                             std::chrono::seconds ready_timeout)
    : socket_(workspace.socket().string()), log_path_(workspace.scratch("coordd.log").string()) {
  std::string notify_path = workspace.scratch("notify.sock").string();
  notify_fd_ = bind_notify_socket(notify_path);
  std::vector<std::string> argv = {binary, "--root", workspace.repo().string(), "--socket",
                                   socket_};
  if (std::find(extra_flags.begin(), extra_flags.end(), "--state-dir") == extra_flags.end()) {
    argv.insert(argv.end(), {"--state-dir", workspace.scratch("state").string()});
  }
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  child_ = std::make_unique<ChildProcess>(
      std::move(argv), child_options(log_path_, false, {"NOTIFY_SOCKET=" + notify_path}));

  auto deadline = child_->started_at() + ready_timeout;
  for (;;) {
    pollfd fds[2] = {{notify_fd_, POLLIN, 0}, {child_->exit_fd(), POLLIN, 0}};
    auto left_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - ChildProcess::Clock::now())
            .count();
    if (left_ms <= 0) {
      throw std::runtime_error("coordd did not say READY=1 within " +
                               std::to_string(ready_timeout.count()) + " s; its log:\n" +
                               log_tail());
    }
    int rc = ::poll(fds, 2, int(left_ms));
    if (rc < 0 && errno == EINTR) continue;
    if (fds[0].revents & POLLIN) {
      char message[512];
      ssize_t n = ::recv(notify_fd_, message, sizeof message - 1, 0);
      auto now = ChildProcess::Clock::now();
      if (n > 0 &&
          std::string_view(message, std::size_t(n)).find("READY=1") != std::string_view::npos) {
        ready_at_ = now;
        return;
      }
      continue;
    }
    if (fds[1].revents & POLLIN) {
      throw std::runtime_error("coordd exited before READY=1; its log:\n" + log_tail());
    }
  }
}

CoorddProcess::~CoorddProcess() {
  child_.reset();
  if (notify_fd_ >= 0) ::close(notify_fd_);
}

std::string CoorddProcess::log_tail() const {
  std::ifstream in(log_path_);
  std::ostringstream all;
  all << in.rdbuf();
  std::string text = all.str();
  return text.size() > kLogTailBytes ? text.substr(text.size() - kLogTailBytes) : text;
}

CoordClient CoorddProcess::connect() const {
  CoordClient client;
  if (!client.connect(socket_)) throw std::runtime_error(client.error());
  return client;
}

CoordClient CoorddProcess::subscribe(json::object filters, std::size_t* snapshot_events) const {
  CoordClient client = connect();
  filters["op"] = "subscribe";
  call_or_throw(client, std::move(filters));
  std::size_t events = 0;
  std::string line;
  auto deadline = deadline_in(std::chrono::seconds(120));
  for (;;) {
    if (client.read_line(line, deadline) != CoordClient::Status::kOk) {
      throw std::runtime_error("no snapshot_end from coordd: " + client.error());
    }
    if (line.find("\"type\":\"snapshot_end\"") != std::string::npos) break;
    ++events;
  }
  if (snapshot_events) *snapshot_events = events;
  return client;
}

json::object call_or_throw(CoordClient& client, json::object request,
                           std::chrono::milliseconds timeout) {
  std::string op = json::serialize(request["op"]);
  json::object reply;
  auto status = client.call(std::move(request), reply, deadline_in(timeout));
  if (status != CoordClient::Status::kOk) {
    throw std::runtime_error("coordd did not answer " + op + ": " + client.error());
  }
  if (reply["type"] == "error") {
    throw std::runtime_error("coordd refused " + op + ": " + json::serialize(reply));
  }
  return reply;
}

}  // namespace coordd::bench
