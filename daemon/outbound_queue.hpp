// OutboundQueue: the lines waiting to be written to one client, bounded by
// count and bytes. Events are offered only while there is room (the caller
// drops and counts the rest); replies and final errors are always accepted,
// and the connection stops reading requests while the queue is over its
// limit, so neither can grow without bound. Lines leave the queue in batches
// copied into one contiguous buffer, so a burst of events costs one write(2)
// per client rather than one per event. Reactor thread only.
#pragma once

#include <deque>
#include <memory>
#include <string>

namespace coordd {

inline constexpr std::size_t kDefaultQueueEvents = 8192;
inline constexpr std::size_t kDefaultQueueBytes = 16u << 20;

// One line: a head (a reply, or a subscription's event prefix) followed by
// optional shared bytes (an event body shared by all subscribers). Both are
// shared, so queueing an event for a subscriber allocates nothing.
struct OutboundLine {
  std::shared_ptr<const std::string> head;
  std::shared_ptr<const std::string> body;

  // A line of its own (a reply, a marker).
  static OutboundLine owned(std::string line);
  std::size_t size() const { return (head ? head->size() : 0) + (body ? body->size() : 0); }
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

  // Appends waiting lines to `out`, whole lines only, while they fit in
  // `max_bytes` (always at least one line). They stay counted, as in flight,
  // until finish_batch(). Returns the number of lines taken.
  std::size_t take_batch(std::string& out, std::size_t max_bytes);
  void finish_batch();
  bool has_waiting() const { return !waiting_.empty(); }
  bool empty() const { return waiting_.empty() && in_flight_lines_ == 0; }

  std::size_t count() const { return count_; }
  std::size_t bytes() const { return bytes_; }

 private:
  std::size_t max_lines_;
  std::size_t max_bytes_;
  std::deque<OutboundLine> waiting_;
  std::size_t in_flight_lines_ = 0;
  std::size_t in_flight_bytes_ = 0;
  std::size_t count_ = 0;  // waiting and in flight
  std::size_t bytes_ = 0;
};

}  // namespace coordd
