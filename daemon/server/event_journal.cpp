#include "daemon/server/event_journal.hpp"

#include <algorithm>

namespace coordd {

EventJournal::EventJournal(std::size_t max_events, std::size_t max_bytes,
                           std::uint64_t first_seq_after)
    : max_events_(std::max<std::size_t>(max_events, 1)),
      max_bytes_(max_bytes),
      evicted_through_(first_seq_after) {}

void EventJournal::append(EventPtr event) {
  bytes_ += event->body->size();
  events_.push_back(std::move(event));
  while (events_.size() > max_events_ || (bytes_ > max_bytes_ && events_.size() > 1)) {
    bytes_ -= events_.front()->body->size();
    evicted_through_ = events_.front()->seq;
    events_.pop_front();
  }
}

const Event* EventJournal::next_after(std::uint64_t after_seq) const {
  // Seqs in the ring are strictly increasing, but not contiguous (messages
  // and unjournaled seqs leave holes): binary search.
  auto it = std::upper_bound(events_.begin(), events_.end(), after_seq,
                             [](std::uint64_t seq, const EventPtr& e) { return seq < e->seq; });
  return it == events_.end() ? nullptr : it->get();
}

}  // namespace coordd
