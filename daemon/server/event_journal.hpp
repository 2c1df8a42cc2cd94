// EventJournal: a ring of the most recent events, bounded by count and by
// bytes, shared by every subscriber (it holds the serialized events, not
// copies). Subscriptions replay from it to catch up after a snapshot or to
// resume after a disconnect. Reactor thread only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>

#include "daemon/engine/event.hpp"

namespace coordd {

inline constexpr std::size_t kDefaultJournalEvents = 65536;
inline constexpr std::size_t kDefaultJournalBytes = 64u << 20;

class EventJournal {
 public:
  // `first_seq_after` is the last seq not journaled (events before the
  // journal started are never replayable).
  EventJournal(std::size_t max_events, std::size_t max_bytes, std::uint64_t first_seq_after = 0);

  void append(EventPtr event);
  // Declares that seqs up to `seq` were never journaled (the initial scan).
  void start_after(std::uint64_t seq) { evicted_through_ = std::max(evicted_through_, seq); }

  // True when every event with seq > after_seq is still held.
  bool covers(std::uint64_t after_seq) const { return after_seq >= evicted_through_; }
  // The first held event with seq > after_seq, or nullptr.
  const Event* next_after(std::uint64_t after_seq) const;
  // The highest seq ever evicted (or not journaled).
  std::uint64_t evicted_through() const { return evicted_through_; }

  std::size_t size() const { return events_.size(); }
  std::size_t bytes() const { return bytes_; }
  std::uint64_t oldest_seq() const { return events_.empty() ? 0 : events_.front()->seq; }
  std::uint64_t newest_seq() const { return events_.empty() ? 0 : events_.back()->seq; }

 private:
  std::size_t max_events_;
  std::size_t max_bytes_;
  std::deque<EventPtr> events_;
  std::size_t bytes_ = 0;
  std::uint64_t evicted_through_;
};

}  // namespace coordd
