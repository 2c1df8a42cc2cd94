#include "daemon/server/connection.hpp"

#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <limits>

#include "daemon/bus/log_throttle.hpp"
#include "daemon/bus/message_bus.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/server/event_journal.hpp"
#include "daemon/server/lingering_closes.hpp"
#include "proto/wire.hpp"

namespace coordd {
namespace {

// One sendmsg(2) carries up to this much (or one longer line), in at most
// this many pieces (a line is a head and a shared body).
constexpr std::size_t kMaxWriteBytes = 256 * 1024;
constexpr std::size_t kMaxIovecs = 512;
constexpr auto kCloseTimeout = std::chrono::seconds(2);

}  // namespace

Connection::Connection(boost::asio::local::stream_protocol::socket socket,
                       ConnectionContext& context, std::uint64_t id, PeerCredentials peer,
                       Access access)
    : socket_(std::move(socket)),
      context_(context),
      id_(id),
      peer_(peer),
      access_(access),
      framer_(context.limits.max_frame_bytes),
      queue_(context.limits.queue_max_lines, context.limits.queue_max_bytes),
      streams_(queue_, context.engine, context.journal),
      slow_timer_(context.engine.clock().make_alarm(socket_.get_executor())) {}

void Connection::start() { read(); }

void Connection::stop() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  slow_timer_->cancel();
  socket_.shutdown(boost::asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  if (deferred_) {
    deferred_ = false;
    if (auto cancel = std::move(cancel_deferred_)) cancel();
  }
  parked_replies_.clear();
  streams_.clear();
  if (agent_) context_.bus.detach(*this, *agent_);
  streams_.set_mailbox(std::nullopt, nullptr);
  context_.registry.forget(this);
}

void Connection::read() {
  if (reading_ || closing_ || closed_ || read_eof_) return;
  reading_ = true;
  // As async_read_some would: try at once, in a later turn of the reactor.
  boost::asio::post(socket_.get_executor(), [this, self = shared_from_this()] {
    reading_ = false;
    receive();
  });
}

void Connection::receive() {
  if (reading_ || closing_ || closed_ || read_eof_) return;
  std::span<char> buffer = context_.read_buffer;
  ssize_t n;
  do {
    n = ::recv(socket_.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
    // Nothing now: any byte that arrives from here on wakes this wait.
    reading_ = true;
    socket_.async_wait(boost::asio::socket_base::wait_read,
                       [this, self = shared_from_this()](const boost::system::error_code& ec) {
                         reading_ = false;
                         if (closed_ || closing_) return;
                         if (ec) {
                           stop();
                           return;
                         }
                         receive();
                       });
    return;
  }
  if (n < 0) {
    stop();
    return;
  }
  if (n == 0) {
    // Half-closed: answer what was asked; a subscriber keeps receiving until
    // it hangs up.
    read_eof_ = true;
    handle_frames();
    if (done_after_eof()) {
      stop();
    } else {
      watch_for_hang_up();
    }
    return;
  }
  // The framer copies what it keeps: the buffer is reused by the next read
  // of any connection.
  framer_.feed(std::string_view(buffer.data(), std::size_t(n)));
  handle_frames();
  maybe_resume_reading();
}

// EOF alone cannot tell a half-close (the client still reads its events)
// from a close; only a closed peer makes its Unix socket report POLLHUP
// here. Without this a closed subscriber lingers -- descriptor,
// subscriptions and all -- until an event matching its filter fails to be
// written, which for a narrow filter may be never.
void Connection::watch_for_hang_up() {
  if (closed_) return;
  pollfd pfd{socket_.native_handle(), POLLOUT, 0};
  if (::poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLHUP | POLLERR)) != 0) {
    stop();
    return;
  }
  // A half-closed client: wait for it to hang up (EPOLLHUP completes this).
  auto self = shared_from_this();
  socket_.async_wait(boost::asio::socket_base::wait_error,
                     [this, self](const boost::system::error_code& ec) {
                       if (!ec) watch_for_hang_up();
                     });
}

void Connection::handle_frames() {
  std::string_view frame;
  // One request at a time, pausing while the replies are not being read, so
  // a client that never reads cannot make us buffer without bound.
  while (!closing_ && !closed_ && !deferred_ && !queue_.over_limit()) {
    NdjsonFramer::Status status = framer_.next(frame);
    if (status == NdjsonFramer::Status::kNeedMore) break;
    if (status == NdjsonFramer::Status::kTooLarge) {
      close_with(error_line(nullptr, "frame_too_large",
                            "a request line exceeds " +
                                std::to_string(context_.limits.max_frame_bytes) +
                                " bytes (--max-frame-bytes); closing the connection"));
      return;
    }
    // Blank lines (empty or only JSON whitespace) are ignored, as PROTOCOL.md says.
    if (frame.find_first_not_of(" \t\r\n") == std::string_view::npos) continue;
    context_.handler.handle(*this, frame);
  }
}

void Connection::maybe_resume_reading() {
  if (closed_ || closing_) return;
  if (!queue_.over_limit()) {
    handle_frames();  // frames already buffered come before new reads
    if (!queue_.over_limit()) read();
  }
}

void Connection::reply(std::string line) {
  if (closed_ || closing_) return;
  queue_.push(OutboundLine::owned(std::move(line)));
  write();
}

void Connection::close_with(std::string final_line) {
  if (closed_ || closing_) return;
  queue_.push(OutboundLine::owned(std::move(final_line)));
  closing_ = true;
  streams_.clear();
  // A client that does not read would keep the final line (and us) forever.
  slow_timer_->arm(kCloseTimeout, [this, self = shared_from_this()] { stop(); });
  write();
}

void Connection::defer_reply(std::function<void()> cancel) {
  deferred_ = true;
  cancel_deferred_ = std::move(cancel);
}

void Connection::finish_deferred_reply(std::function<std::string()> make_line) {
  if (closed_ || closing_ || !deferred_) return;
  parked_replies_.push_back(std::move(make_line));
  deferred_parked_ = true;
  pump();
}

bool Connection::done_after_eof() const {
  return read_eof_ && !deferred_ && parked_replies_.empty() && streams_.empty() && queue_.empty();
}

bool Connection::remove_subscription(std::uint64_t id) {
  if (!streams_.remove(id)) return false;
  pump();  // a parked bookmark may have been waiting for this one
  return true;
}

void Connection::set_agent(std::optional<std::string> agent, Mailbox* mailbox) {
  // The caller pumps once its reply is queued, so waiting messages follow it.
  streams_.set_mailbox(agent, mailbox, delivery_);
  agent_ = std::move(agent);
}

bool Connection::deliver(const EventPtr& event) {
  if (closed_ || closing_) return false;
  bool queued = false;
  bool matched = streams_.deliver(event, queued);
  start_lag_clock();
  if (queued && !writing_ && !write_scheduled_) {
    // Idle: out at once (a wake-up's one event is not held for the end of
    // the turn). The write's completion is posted, so what else arrives in
    // this turn coalesces into the next sendmsg.
    auto self = shared_from_this();  // write() may stop and forget us
    write();
  } else if (queued) {
    schedule_write();
  }
  return matched;
}

void Connection::start_lag_clock() {
  if (streams_.lagging() && !lagging_since_) {
    lagging_since_ = context_.engine.clock().steady_now();
    arm_slow_timer(context_.limits.slow_consumer_grace);
  }
}

void Connection::track_lag() {
  start_lag_clock();
  if (!streams_.lagging() && !queue_.over_limit()) lagging_since_.reset();
}

void Connection::arm_slow_timer(SteadyDuration after) {
  slow_timer_->arm(after, [this, self = shared_from_this()] { check_slow_consumer(); });
}

void Connection::check_slow_consumer() {
  if (closed_ || closing_ || !lagging_since_) return;
  auto behind_for = context_.engine.clock().steady_now() - *lagging_since_;
  if (behind_for < context_.limits.slow_consumer_grace) {
    // This lag started after the timer was armed: wait out its own grace.
    arm_slow_timer(context_.limits.slow_consumer_grace - behind_for);
    return;
  }
  if (!queue_.over_limit() && !streams_.lagging()) {
    lagging_since_.reset();
    return;
  }
  context_.slow_consumer_log.warn(
      fmt::format("client {} stayed over its queue limit for {} ms; disconnecting (slow_consumer)",
                  id_, context_.limits.slow_consumer_grace.count()));
  close_with(error_line(nullptr, "slow_consumer",
                        "this client did not read its events for " +
                            std::to_string(context_.limits.slow_consumer_grace.count()) +
                            " ms while its queue was full; reconnect and resume with since"));
}

void Connection::pump() {
  if (closed_ || closing_) return;
  streams_.pump();
  if (!parked_replies_.empty() && streams_.caught_up()) {
    for (auto& make_line : parked_replies_) queue_.push(OutboundLine::owned(make_line()));
    parked_replies_.clear();
    if (deferred_parked_) {
      // The held requests come next, after this turn (we may be inside one).
      deferred_parked_ = deferred_ = false;
      cancel_deferred_ = nullptr;
      boost::asio::post(socket_.get_executor(), [this, self = shared_from_this()] {
        maybe_resume_reading();
        if (!closed_ && done_after_eof()) stop();
      });
    }
  }
  track_lag();
  write();
}

void Connection::schedule_write() {
  if (write_scheduled_ || writing_ || closed_) return;
  write_scheduled_ = true;
  auto self = shared_from_this();
  boost::asio::post(socket_.get_executor(), [this, self] {
    write_scheduled_ = false;
    write();
  });
}

void Connection::write() {
  if (writing_ || closed_ || !queue_.has_waiting()) {
    if (!writing_ && closing_ && queue_.empty()) {
      // The final line is out; a client still sending must be able to read it.
      context_.lingering.close(std::move(socket_), "");
      stop();
    }
    return;
  }
  // One sendmsg straight from the queued lines (no copy into a buffer),
  // non-blocking; what the socket does not take waits for it to drain.
  std::array<iovec, kMaxIovecs> iov;
  std::size_t filled = queue_.gather(iov.data(), iov.size(), kMaxWriteBytes);
  std::size_t gathered = 0;
  for (std::size_t i = 0; i < filled; ++i) gathered += iov[i].iov_len;
  msghdr message{};
  message.msg_iov = iov.data();
  message.msg_iovlen = filled;
  ssize_t sent;
  do {
    sent = ::sendmsg(socket_.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
    stop();  // the client is gone (EPIPE, ECONNRESET)
    return;
  }
  queue_.consume(sent > 0 ? std::size_t(sent) : 0);

  // Like a write completion: later events coalesce until it runs.
  writing_ = true;
  auto self = shared_from_this();
  auto written = [this, self](const boost::system::error_code& ec) {
    writing_ = false;
    if (closed_) return;
    if (ec) {
      stop();
      return;
    }
    if (closing_) {
      write();
      return;
    }
    pump();
    maybe_resume_reading();
    if (done_after_eof()) stop();
  };
  if (sent >= 0 && std::size_t(sent) == gathered) {
    boost::asio::post(socket_.get_executor(), [written] { written({}); });
  } else {
    socket_.async_wait(boost::asio::socket_base::wait_write, written);
  }
}

}  // namespace coordd
