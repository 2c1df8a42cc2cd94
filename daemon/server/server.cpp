#include "daemon/server/server.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "daemon/engine/engine.hpp"
#include "daemon/server/connection_manager.hpp"
#include "daemon/server/lingering_closes.hpp"
#include "proto/wire.hpp"

namespace coordd {
namespace {

using Protocol = boost::asio::local::stream_protocol;

[[noreturn]] void fail(const std::string& message) { throw std::runtime_error(message); }

// The directory holding the socket must be ours alone: created 0700 if
// missing; refused if it is a symlink, someone else's, or writable by others.
void secure_directory(const std::string& dir) {
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) fail("cannot inspect " + dir + ": " + std::strerror(errno));
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(dir).parent_path(), ec);
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      fail("cannot create socket directory " + dir + ": " + std::strerror(errno));
    }
    if (::lstat(dir.c_str(), &st) != 0) fail("cannot inspect " + dir + ": " + std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
    fail("socket directory " + dir +
         " is not a directory (or is a symlink); remove it or pick "
         "another --socket");
  }
  if (st.st_uid != ::geteuid()) {
    fail("socket directory " + dir + " is owned by uid " + std::to_string(st.st_uid) +
         ", not by us (uid " + std::to_string(::geteuid()) + "); pick another --socket");
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", unsigned(st.st_mode & 0777));
    fail("socket directory " + dir + " is writable by group or others (mode " + mode +
         "); run chmod 700 on it or pick another --socket");
  }
}

// What is at the socket path now.
enum class Existing { kNothing, kLiveDaemon, kStaleSocket };

Existing probe(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Existing::kNothing;
    fail("cannot inspect " + path + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    fail(path + " exists and is not a socket; refusing to replace it (remove it yourself)");
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(std::string("socket: ") + std::strerror(errno));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (rc == 0) return Existing::kLiveDaemon;
  if (err == ECONNREFUSED || err == ENOENT) return Existing::kStaleSocket;
  fail("cannot tell whether a daemon is serving " + path + ": " + std::strerror(err));
}

}  // namespace

Server::Server(boost::asio::io_context& io, ConnectionManager& manager, ConnectionContext& context,
               PeerPolicy policy)
    : io_(io),
      manager_(manager),
      context_(context),
      policy_(std::move(policy)),
      refused_log_(context.engine.clock(), io.get_executor()),
      accept_failed_log_(context.engine.clock(), io.get_executor()) {}

Server::~Server() { stop(); }

void Server::listen(const std::string& path) {
  if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    fail("socket path '" + path + "' is empty or longer than " +
         std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes; pick a shorter --socket");
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  secure_directory(dir.empty() ? "." : dir);
  // Two daemons starting at once on one stale socket would both replace it,
  // and one would end up listening on a name that is gone: whoever holds the
  // lock beside the socket probes, replaces and binds; the other gives up.
  std::string lock_path = path + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) fail("cannot open " + lock_path + ": " + std::strerror(errno));
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    if (err == EWOULDBLOCK) {
      fail("another coordd is already serving (or starting) on " + path + " (it holds " +
           lock_path + "); stop it first, or start this one with a different --socket");
    }
    fail("cannot lock " + lock_path + ": " + std::strerror(err));
  }
  switch (probe(path)) {
    case Existing::kLiveDaemon:
      fail("another coordd is already serving " + path +
           " (stop it first, or start this one with a different --socket)");
    case Existing::kStaleSocket:
      spdlog::info("replacing stale socket {}", path);
      ::unlink(path.c_str());
      break;
    case Existing::kNothing:
      break;
  }
  auto acceptor = std::make_unique<Protocol::acceptor>(io_);
  boost::system::error_code ec;
  acceptor->open(Protocol(), ec);
  if (ec) fail("cannot create a socket: " + ec.message());
  // umask makes the socket 0600 from the moment it exists; chmod makes sure.
  mode_t old_mask = ::umask(0177);
  acceptor->bind(Protocol::endpoint(path), ec);
  ::umask(old_mask);
  if (ec) fail("cannot bind " + path + ": " + ec.message());
  ::chmod(path.c_str(), 0600);
  acceptor->listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) fail("cannot listen on " + path + ": " + ec.message());
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) created_inode_ = st.st_ino;
  created_path_ = path;
  acceptors_.push_back(std::move(acceptor));
}

void Server::adopt(int fd) {
  auto acceptor = std::make_unique<Protocol::acceptor>(io_);
  boost::system::error_code ec;
  acceptor->assign(Protocol(), fd, ec);
  if (ec) fail("cannot adopt socket fd " + std::to_string(fd) + ": " + ec.message());
  acceptors_.push_back(std::move(acceptor));
}

void Server::start() {
  for (auto& acceptor : acceptors_) accept(*acceptor);
}

void Server::accept(Protocol::acceptor& acceptor) {
  acceptor.async_accept(
      [this, &acceptor](const boost::system::error_code& ec, Protocol::socket socket) {
        if (stopped_ || ec == boost::asio::error::operation_aborted) return;
        if (ec) {
          // EMFILE and friends: the client stays in the backlog; try again soon
          // rather than spinning on the same error.
          accept_failed_log_.warn("accept failed: " + ec.message() + "; retrying in 100 ms");
          retry_timer_ =
              std::make_unique<boost::asio::steady_timer>(io_, std::chrono::milliseconds(100));
          retry_timer_->async_wait([this, &acceptor](const boost::system::error_code& wait_ec) {
            if (!wait_ec && !stopped_) accept(acceptor);
          });
          return;
        }
        PeerCredentials peer = peer_credentials(socket.native_handle());
        Access access = policy_.decide(peer, ::geteuid());
        if (access == Access::kForbidden) {
          refused_log_.warn(fmt::format(
              "refused a client with uid {} gid {} pid {} (not allowed: see --allow-uid)", peer.uid,
              peer.gid, peer.pid));
          std::string line = error_line(nullptr, "forbidden",
                                        "uid " + std::to_string(peer.uid) +
                                            " may not use this coordd; its owner can allow it with "
                                            "--allow-uid or --allow-gid");
          context_.lingering.close(std::move(socket), std::move(line));
        } else {
          auto connection = std::make_shared<Connection>(std::move(socket), context_,
                                                         manager_.next_id(), peer, access);
          manager_.start(std::move(connection));
        }
        accept(acceptor);
      });
}

void Server::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (auto& acceptor : acceptors_) {
    boost::system::error_code ignored;
    acceptor->close(ignored);
  }
  if (retry_timer_) retry_timer_->cancel();
  if (!created_path_.empty()) {
    // Only remove the socket if it is still the one we created.
    struct stat st {};
    if (::stat(created_path_.c_str(), &st) == 0 && st.st_ino == created_inode_) {
      ::unlink(created_path_.c_str());
    }
  }
  // After the socket is gone, so the next daemon finds nothing to replace.
  if (lock_fd_ >= 0) ::close(lock_fd_);
  lock_fd_ = -1;
}

}  // namespace coordd
