// What one connection streams to its client besides replies. A Subscription
// is one `subscribe`: its filter, how far it has got through its snapshot or
// journal replay, and the gap it owes a `lagged` marker for.
// SubscriptionStreams holds a connection's subscriptions and its agent's
// mailbox and merges them into the connection's OutboundQueue: each
// subscription goes snapshot -> replay -> live, what does not fit becomes a
// `lagged` marker, and no mailbox message overtakes an event that a
// subscription still owes. Owned by a Connection; reactor thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "daemon/bus/mailbox.hpp"
#include "daemon/engine/event.hpp"
#include "daemon/engine/event_filter.hpp"
#include "daemon/engine/record_ref.hpp"
#include "daemon/server/outbound_queue.hpp"

namespace coordd {

struct Subscription {
  enum class Phase {
    kSnapshot,  // streaming current records, then snapshot_end
    kReplay,    // catching up from the journal (after a snapshot or a resume)
    kLive,      // receiving events as they are published
  };

  enum class Messages { kNone, kBroadcast, kAll };

  std::uint64_t id = 0;
  EventFilter filter;
  bool events = true;                   // record events wanted
  Messages messages = Messages::kNone;  // which agent messages this tap sees
  std::set<std::string> agents;         // tap restricted to these senders/recipients
  std::string prefix;                   // `{"type":"event","sub":N,`
  std::string message_prefix;           // `{"type":"message","sub":N,`
  Phase phase = Phase::kLive;

  std::uint64_t snapshot_seq = 0;   // the S of subscribed/snapshot_end
  bool resync = false;              // a resume was refused: the client must rebuild its state
  std::vector<RecordRef> snapshot;  // in seq order
  std::size_t snapshot_next = 0;
  std::uint64_t replay_after = 0;  // last seq replayed

  // Matching events dropped because the client's queue was full.
  std::uint64_t lag_from = 0;
  std::uint64_t lag_to = 0;
  std::uint64_t lag_dropped = 0;
  bool lag_counted = true;  // false when the gap came from journal compaction
  bool lag_pending() const { return lag_from != 0; }
};

class Engine;
class EventJournal;
class Mailbox;

class SubscriptionStreams {
 public:
  // `queue`, `engine` and `journal` must outlive the streams.
  SubscriptionStreams(OutboundQueue& queue, const Engine& engine, const EventJournal& journal)
      : queue_(queue), engine_(engine), journal_(journal) {}
  SubscriptionStreams(const SubscriptionStreams&) = delete;
  SubscriptionStreams& operator=(const SubscriptionStreams&) = delete;

  Subscription& add(EventFilter filter);
  bool remove(std::uint64_t id);
  void clear();
  const std::map<std::uint64_t, Subscription>& subscriptions() const { return subs_; }
  bool empty() const { return subs_.empty(); }

  // The agent whose mailbox these streams drain (none: nullopt and null),
  // and how its messages are handed over.
  void set_mailbox(std::optional<std::string> agent, Mailbox* mailbox, Delivery delivery = {});
  // The mailbox drained here when its messages wait for acks (else null).
  Mailbox* acking_mailbox() const { return delivery_.ack ? mailbox_ : nullptr; }

  // Queues a published event or message for every live subscription it
  // matches (dropping, and owing a marker, what does not fit). Returns
  // whether any subscription matched; `queued` tells whether a line went in.
  bool deliver(const EventPtr& event, bool& queued);
  // Moves snapshot and replay lines, owed markers and mailbox messages into
  // the queue while it wants more.
  void pump();

  // Every subscription live with no marker owed.
  bool caught_up() const;
  // A marker is owed somewhere (the client is behind).
  bool lagging() const;
  std::uint64_t dropped_events() const { return dropped_events_; }

 private:
  bool produce(Subscription& sub);
  bool produce_snapshot(Subscription& sub);
  bool produce_replay(Subscription& sub);
  bool flush_lag(Subscription& sub);
  void note_drop(Subscription& sub, std::uint64_t seq, bool counted);
  bool wants(const Subscription& sub, const Event& event) const;
  // Moves mailbox messages into the queue while they fit; true when nothing
  // is left that could go now.
  bool drain_mailbox();
  // The newest seq the mailbox may release now: a message must not overtake
  // an event that a subscription still owes from its snapshot or replay.
  std::uint64_t mailbox_horizon() const;

  OutboundQueue& queue_;
  const Engine& engine_;
  const EventJournal& journal_;
  std::map<std::uint64_t, Subscription> subs_;
  std::uint64_t next_sub_ = 1;
  std::optional<std::string> agent_;
  Mailbox* mailbox_ = nullptr;
  Delivery delivery_;
  std::uint64_t dropped_events_ = 0;
};

}  // namespace coordd
