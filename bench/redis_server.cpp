#include "bench/redis_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "bench/redis_client.hpp"
#include "tests/support/poll_until.hpp"

namespace coordd::bench {

int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error(std::string("bind to a free port: ") + std::strerror(err));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

RedisServer::RedisServer(const std::string& binary, const std::filesystem::path& dir)
    : port_(free_tcp_port()) {
  std::string log = (dir / "redis.log").string();
  child_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{binary, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir",
                               dir.string()},
      child_options(log));
  // It listens shortly after exec; until then connect() is refused.
  std::string why = "no reply";
  auto answers_ping = [&] {
    try {
      RedisConnection probe(port_);
      probe.send_all(resp_command({"PING"}));
      if (probe.read_reply(std::chrono::seconds(2)).at(0) == "PONG") return true;
    } catch (const std::runtime_error& e) {
      if (child_->wait(std::chrono::milliseconds(0))) {
        throw std::runtime_error("redis-server exited at start; see " + log);
      }
      why = e.what();
    }
    return false;
  };
  if (!support::poll_until(std::chrono::seconds(10), answers_ping, std::chrono::milliseconds(20))) {
    throw std::runtime_error("redis-server does not answer PING: " + why);
  }
}

}  // namespace coordd::bench
