#include "daemon/server/connection.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <boost/asio/post.hpp>
#include <limits>

#include "daemon/engine/engine.hpp"
#include "daemon/server/event_journal.hpp"
#include "daemon/bus/mailbox.hpp"
#include "daemon/bus/message_bus.hpp"
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
      slow_timer_(socket_.get_executor()) {}

void Connection::start() { read(); }

void Connection::stop() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  slow_timer_.cancel();
  socket_.shutdown(boost::asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  subs_.clear();
  if (agent_) context_.bus.detach(*this, *agent_);
  mailbox_ = nullptr;
  context_.registry.forget(this);
}

void Connection::read() {
  if (reading_ || closing_ || closed_ || read_eof_) return;
  reading_ = true;
  auto self = shared_from_this();
  socket_.async_read_some(boost::asio::buffer(read_buffer_),
                          [this, self](const boost::system::error_code& ec, std::size_t n) {
                            reading_ = false;
                            if (closed_ || closing_) return;
                            if (ec == boost::asio::error::eof) {
                              // Half-closed: answer what was asked; a
                              // subscriber keeps receiving until it hangs up.
                              read_eof_ = true;
                              handle_frames();
                              if (subs_.empty() && queue_.empty()) {
                                stop();
                              } else {
                                watch_for_hang_up();
                              }
                              return;
                            }
                            if (ec) {
                              stop();
                              return;
                            }
                            framer_.feed(std::string_view(read_buffer_.data(), n));
                            handle_frames();
                            maybe_resume_reading();
                          });
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
  while (!closing_ && !closed_ && !queue_.over_limit()) {
    NdjsonFramer::Status status = framer_.next(frame);
    if (status == NdjsonFramer::Status::kNeedMore) break;
    if (status == NdjsonFramer::Status::kTooLarge) {
      close_with(error_line(
          nullptr, "frame_too_large",
          "a request line exceeds " + std::to_string(context_.limits.max_frame_bytes) +
              " bytes (--max-frame-bytes); closing the connection"));
      return;
    }
    if (frame.empty()) continue;
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
  subs_.clear();
  // A client that does not read would keep the final line (and us) forever.
  slow_timer_.expires_after(kCloseTimeout);
  auto self = shared_from_this();
  slow_timer_.async_wait([this, self](const boost::system::error_code& ec) {
    if (!ec) stop();
  });
  write();
}

bool Connection::caught_up() const {
  for (const auto& [id, sub] : subs_) {
    if (sub.phase != Subscription::Phase::kLive || sub.lag_pending()) return false;
  }
  return true;
}

void Connection::reply_when_caught_up(std::function<std::string()> make_line) {
  if (closed_ || closing_) return;
  parked_replies_.push_back(std::move(make_line));
  pump();
}

Subscription& Connection::add_subscription(EventFilter filter) {
  std::uint64_t id = next_sub_++;
  Subscription& sub = subs_[id];
  sub.id = id;
  sub.filter = std::move(filter);
  sub.prefix = event_prefix(id);
  sub.message_prefix = message_prefix(id);
  return sub;
}

bool Connection::remove_subscription(std::uint64_t id) {
  if (subs_.erase(id) == 0) return false;
  pump();  // a parked bookmark may have been waiting for this one
  return true;
}

void Connection::set_agent(std::optional<std::string> agent, Mailbox* mailbox) {
  // The caller pumps once its reply is queued, so waiting messages follow it.
  agent_ = std::move(agent);
  mailbox_ = mailbox;
}

bool Connection::wants(const Subscription& sub, const Event& event) const {
  if (!event.is_message) {
    return sub.events &&
           sub.filter.matches(event.root, event.kind, event.run_id, event.branch);
  }
  if (sub.messages == Subscription::Messages::kNone) return false;
  bool broadcast = event.to == "*";
  if (sub.messages == Subscription::Messages::kBroadcast && !broadcast) return false;
  // This connection's agent already gets these through its mailbox.
  if (agent_ && (broadcast || event.to == *agent_)) return false;
  return sub.agents.empty() || sub.agents.contains(event.from) || sub.agents.contains(event.to);
}

std::uint64_t Connection::mailbox_horizon() const {
  std::uint64_t horizon = std::numeric_limits<std::uint64_t>::max();
  for (const auto& [id, sub] : subs_) {
    if (sub.phase == Subscription::Phase::kSnapshot) horizon = std::min(horizon, sub.snapshot_seq);
    if (sub.phase == Subscription::Phase::kReplay) horizon = std::min(horizon, sub.replay_after);
  }
  return horizon;
}

bool Connection::drain_mailbox() {
  if (!mailbox_) return true;
  std::uint64_t horizon = mailbox_horizon();
  while (!mailbox_->empty()) {
    const EventPtr& message = mailbox_->front();
    if (message->seq > horizon) return true;  // pump() releases it once the replay passes it
    static const std::string kPrefix = message_prefix(std::nullopt);
    if (!queue_.has_room(kPrefix.size() + message->body->size())) return false;
    queue_.push(OutboundLine{kPrefix, message->body});
    mailbox_->pop();
  }
  if (mailbox_->lag_pending()) {
    std::string line = mailbox_->take_lag_line(agent_ ? *agent_ : std::string());
    queue_.push(OutboundLine::owned(std::move(line)));
  }
  return true;
}

bool Connection::deliver(const EventPtr& event) {
  if (closed_ || closing_) return false;
  // Messages waiting in the mailbox have lower seqs: they go first, and
  // nothing newer may overtake them.
  bool mailbox_clear = drain_mailbox();
  bool matched = false;
  bool queued = false;
  for (auto& [id, sub] : subs_) {
    if (!wants(sub, *event)) continue;
    matched = true;
    // Subscriptions still in snapshot or replay will read this event from
    // the journal when they get there.
    if (sub.phase != Subscription::Phase::kLive) continue;
    const std::string& prefix = event->is_message ? sub.message_prefix : sub.prefix;
    std::size_t size = prefix.size() + event->body->size();
    if (!mailbox_clear || (sub.lag_pending() && !flush_lag(sub)) || !queue_.has_room(size)) {
      note_drop(sub, event->seq, true);
      continue;
    }
    queue_.push(OutboundLine{prefix, event->body});
    queued = true;
  }
  // Written at the end of this reactor turn, with whatever else arrives in it.
  if (queued) schedule_write();
  return matched;
}

void Connection::note_drop(Subscription& sub, std::uint64_t seq, bool counted) {
  if (!sub.lag_pending()) {
    sub.lag_from = seq;
    sub.lag_dropped = 0;
    sub.lag_counted = true;
  }
  sub.lag_to = seq;
  sub.lag_counted = sub.lag_counted && counted;
  ++sub.lag_dropped;
  ++dropped_events_;
  if (!lagging_since_) {
    lagging_since_ = context_.engine.clock().steady_now();
    slow_timer_.expires_after(context_.limits.slow_consumer_grace);
    auto self = shared_from_this();
    slow_timer_.async_wait([this, self](const boost::system::error_code& ec) {
      if (!ec) check_slow_consumer();
    });
  }
}

bool Connection::flush_lag(Subscription& sub) {
  std::string line = lagged_line(sub.id, sub.lag_from, sub.lag_to,
                                 sub.lag_counted ? std::optional(sub.lag_dropped) : std::nullopt);
  // Room for the marker and the event that follows it.
  if (!queue_.has_room(line.size() + 512, 2)) return false;
  queue_.push(OutboundLine::owned(std::move(line)));
  sub.lag_from = sub.lag_to = sub.lag_dropped = 0;
  return true;
}

void Connection::check_slow_consumer() {
  if (closed_ || closing_ || !lagging_since_) return;
  auto behind_for = context_.engine.clock().steady_now() - *lagging_since_;
  if (behind_for < context_.limits.slow_consumer_grace) {
    // This lag started after the timer was armed: wait out its own grace.
    slow_timer_.expires_after(context_.limits.slow_consumer_grace - behind_for);
    auto self = shared_from_this();
    slow_timer_.async_wait([this, self](const boost::system::error_code& ec) {
      if (!ec) check_slow_consumer();
    });
    return;
  }
  bool still_behind = queue_.over_limit();
  for (auto& [id, sub] : subs_) still_behind = still_behind || sub.lag_pending();
  if (!still_behind) {
    lagging_since_.reset();
    return;
  }
  spdlog::warn("client {} stayed over its queue limit for {} ms; disconnecting (slow_consumer)",
               id_, context_.limits.slow_consumer_grace.count());
  close_with(error_line(
      nullptr, "slow_consumer",
      "this client did not read its events for " +
          std::to_string(context_.limits.slow_consumer_grace.count()) +
          " ms while its queue was full; reconnect and resume with since"));
}

bool Connection::produce(Subscription& sub) {
  Engine& engine = context_.engine;
  EventJournal& journal = context_.journal;
  if (sub.lag_pending() && !flush_lag(sub)) return false;  // the marker goes first
  if (sub.phase == Subscription::Phase::kSnapshot) {
    while (sub.snapshot_next < sub.snapshot.size()) {
      const RecordRef& ref = sub.snapshot[sub.snapshot_next++];
      const Record* record = engine.store().find(ref);
      // Changed since the snapshot's seq: its event comes in the replay.
      if (record == nullptr || record->seq > sub.snapshot_seq) continue;
      queue_.push(OutboundLine{sub.prefix, std::make_shared<const std::string>(
                                               engine.snapshot_body(ref, *record))});
      return true;
    }
    sub.snapshot.clear();
    sub.snapshot.shrink_to_fit();
    queue_.push(OutboundLine::owned(snapshot_end_line(sub.id, sub.snapshot_seq, sub.resync)));
    sub.phase = Subscription::Phase::kReplay;
    sub.replay_after = sub.snapshot_seq;
    return true;
  }
  if (sub.phase == Subscription::Phase::kReplay) {
    if (!journal.covers(sub.replay_after)) {
      // Compacted away while we were streaming: say exactly which seqs.
      note_drop(sub, sub.replay_after + 1, false);
      sub.lag_to = journal.evicted_through();
      sub.replay_after = journal.evicted_through();
      flush_lag(sub);
      return true;
    }
    while (const Event* event = journal.next_after(sub.replay_after)) {
      sub.replay_after = event->seq;
      if (!wants(sub, *event)) continue;
      queue_.push(OutboundLine{event->is_message ? sub.message_prefix : sub.prefix, event->body});
      return true;
    }
    sub.phase = Subscription::Phase::kLive;  // caught up: published events now come by push
  }
  return false;
}

void Connection::pump() {
  if (closed_ || closing_) return;
  drain_mailbox();
  for (auto& [id, sub] : subs_) {
    if (sub.lag_pending() && sub.phase == Subscription::Phase::kLive) flush_lag(sub);
  }
  // Round-robin between subscriptions that have lines to pull.
  bool progressed = true;
  while (progressed && queue_.wants_more()) {
    progressed = false;
    for (auto& [id, sub] : subs_) {
      if (sub.phase != Subscription::Phase::kLive && produce(sub)) progressed = true;
    }
    drain_mailbox();  // the messages that the replays have now passed
  }
  if (!parked_replies_.empty() && caught_up()) {
    for (auto& make_line : parked_replies_) queue_.push(OutboundLine::owned(make_line()));
    parked_replies_.clear();
  }
  bool lagging = false;
  for (auto& [id, sub] : subs_) lagging = lagging || sub.lag_pending();
  if (!lagging && !queue_.over_limit()) lagging_since_.reset();
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
    if (!writing_ && closing_ && queue_.empty()) stop();
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
    if (read_eof_ && subs_.empty() && queue_.empty()) stop();
  };
  if (sent >= 0 && std::size_t(sent) == gathered) {
    boost::asio::post(socket_.get_executor(), [written] { written({}); });
  } else {
    socket_.async_wait(boost::asio::socket_base::wait_write, written);
  }
}

}  // namespace coordd
