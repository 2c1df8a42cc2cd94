// Mailbox: one agent's messages not yet handed to its connection, bounded by
// count and bytes. A targeted send that does not fit is refused
// (mailbox_full, back-pressure to the sender); a broadcast that does not fit
// is dropped for this agent and owed as a `lagged` marker. Owned by the
// MessageBus; reactor thread only.
#pragma once

#include <cstdint>
#include <deque>

#include "daemon/engine/event.hpp"

namespace coordd {

inline constexpr std::size_t kDefaultMailboxMessages = 1024;
inline constexpr std::size_t kDefaultMailboxBytes = 4u << 20;

class Mailbox {
 public:
  Mailbox(std::size_t max_messages, std::size_t max_bytes)
      : max_messages_(max_messages), max_bytes_(max_bytes) {}

  // While a lagged marker is owed, anything newer would overtake it: the
  // mailbox takes nothing more until it has drained and handed the marker over.
  bool has_room(std::size_t bytes) const {
    return !lag_pending() && messages_.size() < max_messages_ && bytes_ + bytes <= max_bytes_;
  }
  void push(EventPtr message);
  const EventPtr& front() const { return messages_.front(); }
  void pop();
  bool empty() const { return messages_.empty(); }
  std::size_t size() const { return messages_.size(); }
  std::size_t bytes() const { return bytes_; }

  // Broadcasts dropped because the mailbox was full.
  void note_dropped(std::uint64_t seq);
  bool lag_pending() const { return lag_from_ != 0; }
  // `{"type":"lagged","mailbox":"<agent>",...}`; clears the lag.
  std::string take_lag_line(std::string_view agent);

 private:
  std::size_t max_messages_;
  std::size_t max_bytes_;
  std::deque<EventPtr> messages_;
  std::size_t bytes_ = 0;
  std::uint64_t lag_from_ = 0;
  std::uint64_t lag_to_ = 0;
  std::uint64_t lag_dropped_ = 0;
};

}  // namespace coordd
