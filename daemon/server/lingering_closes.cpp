#include "daemon/server/lingering_closes.hpp"

#include <sys/socket.h>

#include <cerrno>

namespace coordd {

struct LingeringCloses::Closing {
  Closing(Socket s, std::string line, std::unique_ptr<Alarm> a)
      : socket(std::move(s)), unwritten(std::move(line)), timeout(std::move(a)) {}
  Socket socket;
  std::string unwritten;
  std::size_t written = 0;
  std::size_t discarded = 0;
  std::unique_ptr<Alarm> timeout;
};

LingeringCloses::LingeringCloses(const Clock& clock, std::span<char> scratch)
    : clock_(clock), scratch_(scratch) {}

void LingeringCloses::close(Socket socket, std::string unwritten) {
  boost::system::error_code ignored;
  if (closing_.size() >= kMaxLingeringSockets) {
    ::send(socket.native_handle(), unwritten.data(), unwritten.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    socket.close(ignored);
    return;
  }
  auto timeout = clock_.make_alarm(socket.get_executor());
  auto closing =
      std::make_shared<Closing>(std::move(socket), std::move(unwritten), std::move(timeout));
  closing_.emplace(closing.get(), closing);
  // The alarm belongs to the Closing and is dropped with it, so the raw
  // pointer is live whenever it fires.
  closing->timeout->arm(kLingerTimeout, [this, raw = closing.get()] { finish(raw); });
  write(closing);
}

void LingeringCloses::write(const std::shared_ptr<Closing>& closing) {
  while (closing->written < closing->unwritten.size()) {
    ssize_t sent =
        ::send(closing->socket.native_handle(), closing->unwritten.data() + closing->written,
               closing->unwritten.size() - closing->written, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      closing->socket.async_wait(Socket::wait_write,
                                 [this, closing](const boost::system::error_code& ec) {
                                   if (ec) return finish(closing.get());
                                   write(closing);
                                 });
      return;
    }
    if (sent < 0) return finish(closing.get());  // the client is gone
    closing->written += std::size_t(sent);
  }
  boost::system::error_code ignored;
  closing->socket.shutdown(Socket::shutdown_send, ignored);
  discard(closing);
}

void LingeringCloses::discard(const std::shared_ptr<Closing>& closing) {
  for (;;) {
    ssize_t n =
        ::recv(closing->socket.native_handle(), scratch_.data(), scratch_.size(), MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) return finish(closing.get());  // EOF: the client has read and closed
    closing->discarded += std::size_t(n);
    if (closing->discarded >= kMaxDiscardBytes) return finish(closing.get());
  }
  closing->socket.async_wait(Socket::wait_read,
                             [this, closing](const boost::system::error_code& ec) {
                               if (ec) return finish(closing.get());
                               discard(closing);
                             });
}

void LingeringCloses::finish(Closing* closing) {
  auto it = closing_.find(closing);
  if (it == closing_.end()) return;
  std::shared_ptr<Closing> held = std::move(it->second);
  closing_.erase(it);
  boost::system::error_code ignored;
  held->timeout->cancel();
  held->socket.close(ignored);  // aborts a pending wait, which releases the rest
}

void LingeringCloses::stop_all() {
  while (!closing_.empty()) finish(closing_.begin()->first);
}

}  // namespace coordd
