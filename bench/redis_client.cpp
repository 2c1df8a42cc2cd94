#include "bench/redis_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>

#include "bench/latency.hpp"

namespace coordd::bench {
namespace {

[[noreturn]] void fail(std::string_view what) {
  throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

// One RESP value starting at `at`, as its elements' texts. nullopt when
// the bytes are incomplete; `at` advances past the value otherwise.
struct Parsed {
  std::vector<std::string_view> items;
  bool error = false;
};

std::optional<std::string_view> line_at(std::string_view buf, std::size_t& at) {
  std::size_t end = buf.find("\r\n", at);
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view line = buf.substr(at, end - at);
  at = end + 2;
  return line;
}

long long number_of(std::string_view text) {
  long long value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// Parses one scalar value (not an array) into `out`.
bool parse_scalar(std::string_view buf, std::size_t& at, Parsed& out) {
  auto line = line_at(buf, at);
  if (!line || line->empty()) return false;
  char type = line->front();
  std::string_view body = line->substr(1);
  if (type == '$') {
    long long len = number_of(body);
    if (len < 0) {
      out.items.emplace_back();  // null bulk string
      return true;
    }
    if (buf.size() < at + std::size_t(len) + 2) return false;
    out.items.push_back(buf.substr(at, std::size_t(len)));
    at += std::size_t(len) + 2;
    return true;
  }
  out.error = out.error || type == '-';
  out.items.push_back(body);
  return true;
}

bool parse_value(std::string_view buf, std::size_t& at, Parsed& out) {
  std::size_t start = at;
  if (at < buf.size() && buf[at] == '*') {
    auto header = line_at(buf, at);
    if (!header) return false;
    long long count = number_of(header->substr(1));
    for (long long i = 0; i < count; ++i) {
      if (!parse_scalar(buf, at, out)) {
        at = start;
        return false;
      }
    }
    return true;
  }
  if (!parse_scalar(buf, at, out)) {
    at = start;
    return false;
  }
  return true;
}

}  // namespace

std::string resp_command(std::initializer_list<std::string_view> args) {
  std::string out = "*";
  out.append(std::to_string(args.size())).append("\r\n");
  for (std::string_view arg : args) {
    out.append("$").append(std::to_string(arg.size())).append("\r\n");
    out.append(arg).append("\r\n");
  }
  return out;
}

void RespSplitter::feed(std::string_view bytes, const Sink& sink) {
  buffer_.append(bytes);
  std::string_view buf(buffer_);
  Parsed parsed;
  for (;;) {
    parsed.items.clear();
    if (!parse_value(buf, start_, parsed)) break;
    if (parsed.items.size() == 3 && parsed.items[0] == "message") sink(parsed.items[2]);
  }
  // Keep only the incomplete tail.
  buffer_.erase(0, start_);
  start_ = 0;
}

RedisConnection::RedisConnection(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) fail("socket");
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(std::uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd_);
    errno = err;
    fail("connect to redis on 127.0.0.1:" + std::to_string(port));
  }
}

RedisConnection::~RedisConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void RedisConnection::send_all(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("send to redis");
    bytes.remove_prefix(std::size_t(n));
  }
}

std::vector<std::string> RedisConnection::read_reply(std::chrono::milliseconds timeout) {
  std::int64_t deadline = mono_now_ns() + std::int64_t(timeout.count()) * 1'000'000;
  for (;;) {
    std::size_t at = 0;
    Parsed parsed;
    if (parse_value(buffer_, at, parsed)) {
      std::vector<std::string> out(parsed.items.begin(), parsed.items.end());
      buffer_.erase(0, at);
      if (parsed.error) throw std::runtime_error("redis replied with an error: " + out.front());
      return out;
    }
    std::int64_t left_ms = (deadline - mono_now_ns()) / 1'000'000;
    if (left_ms <= 0) throw std::runtime_error("no reply from redis in time");
    pollfd pfd{fd_, POLLIN, 0};
    if (::poll(&pfd, 1, int(left_ms)) < 0 && errno != EINTR) fail("poll");
    char chunk[4096];
    ssize_t n = ::recv(fd_, chunk, sizeof chunk, MSG_DONTWAIT);
    if (n == 0) throw std::runtime_error("redis closed the connection");
    if (n < 0 && errno != EAGAIN && errno != EINTR) fail("recv from redis");
    if (n > 0) buffer_.append(chunk, std::size_t(n));
  }
}

}  // namespace coordd::bench
