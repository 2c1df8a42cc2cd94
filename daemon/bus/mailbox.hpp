// Mailbox: one agent's messages not yet handed to its connection, bounded by
// count and bytes, and with every other mailbox of the bus by a shared total
// (MailboxBudget). A targeted send that does not fit is refused
// (mailbox_full, back-pressure to the sender); a broadcast that does not fit
// is dropped for this agent and owed as a `lagged` marker. A message the
// MessageStore recorded is settled in it when popped (handed to the
// connection, or acked by one that acks) or dropped. Owned by the
// MessageBus; reactor thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <vector>

#include "daemon/bus/message_store.hpp"
#include "daemon/engine/event.hpp"

namespace coordd {

inline constexpr std::size_t kDefaultMailboxMessages = 1024;
inline constexpr std::size_t kDefaultMailboxBytes = 4u << 20;
// 64 agents' full mailboxes at the default 4 MiB: more than an orchestrator
// and its workers hold, while thousands of retained mailboxes cannot take
// the machine's memory.
inline constexpr std::size_t kDefaultMailboxTotalBytes = 256u << 20;

// How a connection takes its agent's messages (PROTOCOL.md, "Acknowledged
// delivery"): handed over and done (the default), or kept until acked, at
// most `credit` unacked at once.
struct Delivery {
  bool ack = false;
  std::size_t credit = std::numeric_limits<std::size_t>::max();
};

// The bytes held by all the mailboxes of one bus, and their bound.
struct MailboxBudget {
  std::size_t bytes = 0;
  std::size_t max_bytes = std::numeric_limits<std::size_t>::max();
  bool has_room(std::size_t more) const { return bytes + more <= max_bytes; }
};

class Mailbox {
 public:
  // `budget` and `store` (either may be null) must outlive the mailbox.
  Mailbox(std::size_t max_messages, std::size_t max_bytes, MailboxBudget* budget = nullptr,
          MessageStore* store = nullptr)
      : max_messages_(max_messages), max_bytes_(max_bytes), budget_(budget), store_(store) {}
  // Gives its bytes back to the budget; settles nothing (a daemon stopping
  // keeps its recorded messages for the next run).
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  // While a lagged marker is owed, anything newer would overtake it: the
  // mailbox takes nothing more until it has drained and handed the marker over.
  bool has_room(std::size_t bytes) const {
    return !lag_pending() && messages_.size() + unacked_.size() < max_messages_ &&
           bytes_ + bytes <= max_bytes_ && (!budget_ || budget_->has_room(bytes));
  }
  // False when this mailbox alone has room but the bus-wide total does not.
  bool over_total(std::size_t bytes) const { return budget_ && !budget_->has_room(bytes); }
  // `store_id` (0: none) is settled in the store when the message leaves
  // (in `settle_in` when given: a message another store keeps, such as the
  // swarm's); `expires` is when a recovered message stops being deliverable.
  void push(EventPtr message, std::uint64_t store_id = 0, WallTime expires = WallTime::max(),
            MessageStore* settle_in = nullptr);
  const EventPtr& front() const { return messages_.front().message; }
  // The front message was handed to the connection.
  void pop();
  // The front message was handed to a connection that acks (PROTOCOL.md,
  // "Acknowledged delivery"): it stays, counted in the bounds and unsettled,
  // until ack() or requeue_unacked().
  void hand_over();
  // Settles the handed-over message `seq` (upto: every one with seq <= it);
  // returns how many it settled (0 for one acked before: acks repeat).
  std::size_t ack(std::uint64_t seq, bool upto);
  // The handed-over messages go back to the front, in order, to be
  // delivered again marked "redelivered" (their connection closed unacked).
  void requeue_unacked();
  std::size_t unacked() const { return unacked_.size(); }
  // Drops the messages at the front whose `expires` is not after `now`;
  // returns how many.
  std::size_t drop_expired(WallTime now);
  // Drops every message (the mailbox expired).
  void drop_all();
  // Removes every message without settling any (its agent moved to another
  // host: the swarm delivers them there), oldest first.
  struct Taken {
    EventPtr message;
    std::uint64_t store_id;
    MessageStore* store;  // where store_id would have been settled
  };
  std::vector<Taken> take_all();
  // Messages to deliver (not those handed over and unacked).
  bool empty() const { return messages_.empty(); }
  std::size_t size() const { return messages_.size(); }
  std::size_t bytes() const { return bytes_; }

  // Broadcasts dropped because the mailbox was full.
  void note_dropped(std::uint64_t seq);
  bool lag_pending() const { return lag_from_ != 0; }
  // `{"type":"lagged","mailbox":"<agent>",...}`; clears the lag.
  std::string take_lag_line(std::string_view agent);

 private:
  struct Entry {
    EventPtr message;
    std::uint64_t store_id;
    WallTime expires;
    MessageStore* store;
  };

  std::size_t max_messages_;
  std::size_t max_bytes_;
  MailboxBudget* budget_;
  MessageStore* store_;
  // Settles and forgets `entry`, giving its bytes back.
  void release(Entry& entry);

  std::deque<Entry> messages_;
  std::deque<Entry> unacked_;  // handed over, in seq order, awaiting acks
  std::size_t bytes_ = 0;
  std::uint64_t lag_from_ = 0;
  std::uint64_t lag_to_ = 0;
  std::uint64_t lag_dropped_ = 0;
};

}  // namespace coordd
