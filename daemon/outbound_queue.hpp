// OutboundQueue: the lines waiting to be written to one client, bounded by
// count and bytes. Events are offered only while there is room (the caller
// drops and counts the rest); replies and final errors are always accepted,
// and the connection stops reading requests while the queue is over its
// limit, so neither can grow without bound. Reactor thread only.
#pragma once

#include <boost/asio/buffer.hpp>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace coordd {

inline constexpr std::size_t kDefaultQueueEvents = 8192;
inline constexpr std::size_t kDefaultQueueBytes = 16u << 20;

// One line: a private head (a reply, or an event's per-subscriber prefix)
// followed by optional shared bytes (an event body shared by all subscribers).
struct OutboundLine {
  std::string head;
  std::shared_ptr<const std::string> shared;
  std::size_t size() const { return head.size() + (shared ? shared->size() : 0); }
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

  // Moves up to `max` waiting lines into the in-flight batch and returns its
  // buffers; the batch stays counted until finish_batch().
  std::vector<boost::asio::const_buffer> start_batch(std::size_t max);
  void finish_batch();
  bool has_waiting() const { return !waiting_.empty(); }
  bool empty() const { return waiting_.empty() && in_flight_.empty(); }

  std::size_t count() const { return count_; }
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t max_lines_;
  std::size_t max_bytes_;
  std::deque<OutboundLine> waiting_;
  std::vector<OutboundLine> in_flight_;
  std::size_t count_ = 0;
  std::size_t bytes_ = 0;
};

}  // namespace coordd
