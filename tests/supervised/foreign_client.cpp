#include "tests/supervised/foreign_client.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace coordd::integration {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kConversationTimeout = 15s;

// The child's report: one line per protocol line read, or a '!' status.
constexpr std::string_view kHungUp = "!hung-up";
constexpr std::string_view kFailed = "!failed ";
constexpr std::string_view kUnsent = "!unsent ";

void write_line(int fd, std::string line) {
  line += '\n';
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // the parent went away; nothing to tell
    rest.remove_prefix(std::size_t(n));
  }
}

// Becomes `user` in the child; false (with the reason reported) if it cannot.
bool become(int report, const ForeignUser& user) {
  if (::setgroups(user.groups.size(), user.groups.data()) != 0 ||
      ::setresgid(user.gid, user.gid, user.gid) != 0 ||
      ::setresuid(user.uid, user.uid, user.uid) != 0 || ::getuid() != user.uid ||
      ::geteuid() != user.uid) {
    write_line(report, std::string(kFailed) + "cannot become uid " + std::to_string(user.uid) +
                           ": " + std::strerror(errno));
    return false;
  }
  return true;
}

// The child's side, after fork. It must never throw back into doctest:
// everything ends in _exit.
[[noreturn]] void run_child(int report, const ForeignUser& user, const fs::path& socket,
                            const std::vector<json::object>& requests) {
  if (!become(report, user)) ::_exit(2);
  CoordClient client;
  if (!client.connect(socket.string())) {
    write_line(report, std::string(kFailed) + client.error());
    ::_exit(2);
  }
  auto deadline = Clock::now() + kConversationTimeout - 2s;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    json::object request = requests[i];
    std::string req = "r" + std::to_string(i);
    request["req"] = req;
    // A refused client may find the connection closed before it can send:
    // read anyway, the refusal is already waiting.
    if (client.send(request, deadline) != CoordClient::Status::kOk) {
      write_line(report, std::string(kUnsent) + std::to_string(i));
    }
    for (;;) {
      std::string line;
      CoordClient::Status status = client.read_line(line, deadline);
      if (status == CoordClient::Status::kInterrupted) continue;
      if (status == CoordClient::Status::kClosed) {
        write_line(report, std::string(kHungUp));
        ::_exit(0);
      }
      if (status != CoordClient::Status::kOk) {
        write_line(report,
                   std::string(kFailed) + "reading the reply to " + json::serialize(request) +
                       ": " +
                       (status == CoordClient::Status::kTimeout ? "timed out" : client.error()));
        ::_exit(2);
      }
      write_line(report, line);
      boost::system::error_code ec;
      json::value parsed = json::parse(line, ec);
      const json::value* echoed =
          !ec && parsed.is_object() ? parsed.get_object().if_contains("req") : nullptr;
      if (echoed && *echoed == req.c_str()) break;
    }
  }
  ::_exit(0);
}

// The child of count_refusals_as: reports one line, the number of refusals.
[[noreturn]] void run_refused_child(int report, const ForeignUser& user, const fs::path& socket,
                                    std::size_t connections) {
  if (!become(report, user)) ::_exit(2);
  auto deadline = Clock::now() + kConversationTimeout - 2s;
  std::size_t refused = 0;
  for (std::size_t i = 0; i < connections; ++i) {
    CoordClient client;
    if (!client.connect(socket.string())) {
      write_line(report, std::string(kFailed) + client.error());
      ::_exit(2);
    }
    std::string line;
    if (client.read_line(line, deadline) == CoordClient::Status::kOk &&
        line.find(R"("code":"forbidden")") != std::string::npos) {
      ++refused;
    }
  }
  write_line(report, std::to_string(refused));
  ::_exit(0);
}

// Everything the child writes, until it closes the pipe or the deadline.
std::string read_report(int fd, pid_t child) {
  auto deadline = Clock::now() + kConversationTimeout;
  std::string report;
  for (;;) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd pfd{fd, POLLIN, 0};
    int rc = ::poll(&pfd, 1, int(std::max<long long>(left.count(), 0)));
    if (rc < 0 && errno == EINTR) continue;
    if (rc <= 0) {
      ::kill(child, SIGKILL);
      report += std::string(kFailed) + "the client did not finish within 15 s\n";
      return report;
    }
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return report;
    report.append(buffer, std::size_t(n));
  }
}

}  // namespace

json::object ForeignConversation::reply_to(std::size_t index) const {
  std::string req = "r" + std::to_string(index);
  for (const json::object& line : lines) {
    if (const json::value* echoed = line.if_contains("req"); echoed && *echoed == req.c_str()) {
      return line;
    }
  }
  FAIL("no reply to request " << index << " in the conversation:\n" << describe());
  return {};
}

std::string ForeignConversation::describe() const {
  std::string out;
  for (const json::object& line : lines) out += "  " + json::serialize(line) + "\n";
  for (std::size_t index : unsent) out += "  (request " + std::to_string(index) + " unsent)\n";
  if (hung_up) out += "  (coordd hung up)\n";
  if (!failure.empty()) out += "  (the client failed: " + failure + ")\n";
  return out;
}

ForeignConversation converse_as(const ForeignUser& user, const fs::path& socket,
                                const std::vector<json::object>& requests) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) FAIL("pipe2: " << std::strerror(errno));
  pid_t child = ::fork();
  if (child < 0) FAIL("fork: " << std::strerror(errno));
  if (child == 0) {
    ::close(pipe_fds[0]);
    run_child(pipe_fds[1], user, socket, requests);
  }
  ::close(pipe_fds[1]);
  std::string report = read_report(pipe_fds[0], child);
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }

  ForeignConversation out;
  std::string_view rest = report;
  while (!rest.empty()) {
    std::string_view line = rest.substr(0, rest.find('\n'));
    rest.remove_prefix(std::min(rest.size(), line.size() + 1));
    if (line == kHungUp) {
      out.hung_up = true;
    } else if (line.starts_with(kUnsent)) {
      out.unsent.push_back(std::stoul(std::string(line.substr(kUnsent.size()))));
    } else if (line.starts_with(kFailed)) {
      out.failure = line.substr(kFailed.size());
    } else {
      boost::system::error_code ec;
      json::value parsed = json::parse(line, ec);
      if (ec || !parsed.is_object()) FAIL("coordd sent a line that is not a JSON object: " << line);
      out.lines.push_back(std::move(parsed.get_object()));
    }
  }
  return out;
}

std::size_t count_refusals_as(const ForeignUser& user, const fs::path& socket,
                              std::size_t connections) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) FAIL("pipe2: " << std::strerror(errno));
  pid_t child = ::fork();
  if (child < 0) FAIL("fork: " << std::strerror(errno));
  if (child == 0) {
    ::close(pipe_fds[0]);
    run_refused_child(pipe_fds[1], user, socket, connections);
  }
  ::close(pipe_fds[1]);
  std::string report = read_report(pipe_fds[0], child);
  ::close(pipe_fds[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (report.starts_with(kFailed)) FAIL("the refused client failed: " << report);
  return std::stoul(report);
}

}  // namespace coordd::integration
