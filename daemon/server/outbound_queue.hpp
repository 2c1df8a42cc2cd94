// OutboundQueue: the lines waiting to be written to one client, bounded by
// count and bytes. Events are offered only while there is room (the caller
// drops and counts the rest); replies and final errors are always accepted,
// and the connection stops reading requests while the queue is over its
// limit, so neither can grow without bound. Lines leave the queue through
// one sendmsg(2) per batch, pointing at their bytes where they are (shared
// event bodies are never copied per client). Reactor thread only.
#pragma once

#include <sys/uio.h>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

namespace coordd {

inline constexpr std::size_t kDefaultQueueEvents = 8192;
inline constexpr std::size_t kDefaultQueueBytes = 16u << 20;

// One line: a short head kept inline (a subscription's event prefix, e.g.
// `{"type":"event","sub":N,`) followed by a shared body (an event body shared
// by all subscribers, or a reply of its own). Queueing an event for a
// subscriber allocates nothing and touches one reference count.
class OutboundLine {
 public:
  static constexpr std::size_t kMaxHead = 56;

  // A line of its own (a reply, a marker).
  static OutboundLine owned(std::string line);
  // `head` (at most kMaxHead bytes) then the shared `body`.
  OutboundLine(std::string_view head, std::shared_ptr<const std::string> body);

  std::string_view head() const { return {head_.data(), head_size_}; }
  const std::shared_ptr<const std::string>& body() const { return body_; }
  std::size_t size() const { return head_size_ + (body_ ? body_->size() : 0); }

 private:
  OutboundLine() = default;
  std::shared_ptr<const std::string> body_;
  std::uint8_t head_size_ = 0;
  std::array<char, kMaxHead> head_{};
};

class OutboundQueue {
 public:
  OutboundQueue(std::size_t max_lines, std::size_t max_bytes)
      : max_lines_(max_lines), max_bytes_(max_bytes) {}

  bool has_room(std::size_t bytes, std::size_t lines = 1) const {
    return count_ + lines <= max_lines_ && bytes_ + bytes <= max_bytes_;
  }
  bool over_limit() const { return count_ >= max_lines_ || bytes_ >= max_bytes_; }
  // Below this, pull-based producers (snapshots, replays) add more.
  bool wants_more() const { return count_ < max_lines_ / 4 && bytes_ < max_bytes_ / 4; }

  void push(OutboundLine line);

  // Points `iov` at the waiting bytes, from the first one not yet written,
  // in order: at most max_iov entries, stopping once max_bytes are covered.
  // Nothing is copied; the bytes stay valid until consume() drops them.
  // Returns the number of entries filled.
  std::size_t gather(iovec* iov, std::size_t max_iov, std::size_t max_bytes) const;
  // `bytes` from the front were written: lines written whole leave the
  // queue; a line written in part stays first, its written bytes skipped.
  void consume(std::size_t bytes);
  bool has_waiting() const { return !lines_.empty(); }
  bool empty() const { return lines_.empty(); }

  std::size_t count() const { return count_; }
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t max_lines_;
  std::size_t max_bytes_;
  std::deque<OutboundLine> lines_;
  std::size_t front_written_ = 0;  // bytes of lines_.front() already written
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace coordd
