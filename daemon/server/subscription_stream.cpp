#include "daemon/server/subscription_stream.hpp"

#include <algorithm>
#include <limits>

#include "daemon/bus/mailbox.hpp"
#include "daemon/engine/engine.hpp"
#include "daemon/server/event_journal.hpp"
#include "proto/wire.hpp"

namespace coordd {

Subscription& SubscriptionStreams::add(EventFilter filter) {
  std::uint64_t id = next_sub_++;
  Subscription& sub = subs_[id];
  sub.id = id;
  sub.filter = std::move(filter);
  sub.prefix = event_prefix(id);
  sub.message_prefix = message_prefix(id);
  return sub;
}

bool SubscriptionStreams::remove(std::uint64_t id) { return subs_.erase(id) != 0; }

void SubscriptionStreams::clear() { subs_.clear(); }

void SubscriptionStreams::set_mailbox(std::optional<std::string> agent, Mailbox* mailbox,
                                      Delivery delivery) {
  agent_ = std::move(agent);
  mailbox_ = mailbox;
  delivery_ = mailbox ? delivery : Delivery{};
}

bool SubscriptionStreams::caught_up() const {
  for (const auto& [id, sub] : subs_) {
    if (sub.phase != Subscription::Phase::kLive || sub.lag_pending()) return false;
  }
  return true;
}

bool SubscriptionStreams::lagging() const {
  return std::any_of(subs_.begin(), subs_.end(),
                     [](const auto& entry) { return entry.second.lag_pending(); });
}

bool SubscriptionStreams::wants(const Subscription& sub, const Event& event) const {
  if (!event.is_message) {
    return sub.events && sub.filter.matches(event.root, event.kind, event.run_id, event.branch,
                                            event.remote, event.origin);
  }
  if (sub.messages == Subscription::Messages::kNone) return false;
  bool broadcast = event.to == "*";
  if (sub.messages == Subscription::Messages::kBroadcast && !broadcast) return false;
  // This connection's agent already gets these through its mailbox.
  if (agent_ && (broadcast || event.to == *agent_)) return false;
  return sub.agents.empty() || sub.agents.contains(event.from) || sub.agents.contains(event.to);
}

std::uint64_t SubscriptionStreams::mailbox_horizon() const {
  std::uint64_t horizon = std::numeric_limits<std::uint64_t>::max();
  for (const auto& [id, sub] : subs_) {
    if (sub.phase == Subscription::Phase::kSnapshot) horizon = std::min(horizon, sub.snapshot_seq);
    if (sub.phase == Subscription::Phase::kReplay) horizon = std::min(horizon, sub.replay_after);
  }
  return horizon;
}

bool SubscriptionStreams::drain_mailbox() {
  if (!mailbox_) return true;
  std::uint64_t horizon = mailbox_horizon();
  while (!mailbox_->empty()) {
    // Out of credit: the rest waits for acks (and may come after events
    // with higher seqs; PROTOCOL.md, "Acknowledged delivery").
    const EventPtr& message = mailbox_->front();
    bool keep = delivery_.ack && message->to != "*";  // broadcasts are not acked
    if (keep && mailbox_->unacked() >= delivery_.credit) return true;
    if (message->seq > horizon) return true;  // pump() releases it once the replay passes it
    static const std::string kPrefix = message_prefix(std::nullopt);
    if (!queue_.has_room(kPrefix.size() + message->body->size())) return false;
    queue_.push(OutboundLine{kPrefix, message->body});
    if (keep) {
      mailbox_->hand_over();
    } else {
      mailbox_->pop();
    }
  }
  if (mailbox_->lag_pending()) {
    queue_.push(OutboundLine::owned(mailbox_->take_lag_line(agent_ ? *agent_ : std::string())));
  }
  return true;
}

bool SubscriptionStreams::deliver(const EventPtr& event, bool& queued) {
  // Messages waiting in the mailbox have lower seqs: they go first, and
  // nothing newer may overtake them.
  bool mailbox_clear = drain_mailbox();
  bool matched = false;
  queued = false;
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
  return matched;
}

void SubscriptionStreams::note_drop(Subscription& sub, std::uint64_t seq, bool counted) {
  if (!sub.lag_pending()) {
    sub.lag_from = seq;
    sub.lag_dropped = 0;
    sub.lag_counted = true;
  }
  sub.lag_to = seq;
  sub.lag_counted = sub.lag_counted && counted;
  ++sub.lag_dropped;
  ++dropped_events_;
}

bool SubscriptionStreams::flush_lag(Subscription& sub) {
  std::string line = lagged_line(sub.id, sub.lag_from, sub.lag_to,
                                 sub.lag_counted ? std::optional(sub.lag_dropped) : std::nullopt);
  // Room for the marker and the event that follows it.
  if (!queue_.has_room(line.size() + 512, 2)) return false;
  queue_.push(OutboundLine::owned(std::move(line)));
  sub.lag_from = sub.lag_to = sub.lag_dropped = 0;
  return true;
}

bool SubscriptionStreams::produce_snapshot(Subscription& sub) {
  while (sub.snapshot_next < sub.snapshot.size()) {
    const RecordRef& ref = sub.snapshot[sub.snapshot_next++];
    const Record* record = engine_.store().find(ref);
    // Changed since the snapshot's seq: its event comes in the replay.
    if (record == nullptr || record->seq > sub.snapshot_seq) continue;
    queue_.push(OutboundLine{
        sub.prefix, std::make_shared<const std::string>(engine_.snapshot_body(ref, *record))});
    return true;
  }
  sub.snapshot.clear();
  sub.snapshot.shrink_to_fit();
  queue_.push(OutboundLine::owned(snapshot_end_line(sub.id, sub.snapshot_seq, sub.resync)));
  sub.phase = Subscription::Phase::kReplay;
  sub.replay_after = sub.snapshot_seq;
  return true;
}

bool SubscriptionStreams::produce_replay(Subscription& sub) {
  if (!journal_.covers(sub.replay_after)) {
    // Compacted away while we were streaming: say exactly which seqs.
    note_drop(sub, sub.replay_after + 1, false);
    sub.lag_to = journal_.evicted_through();
    sub.replay_after = journal_.evicted_through();
    flush_lag(sub);
    return true;
  }
  while (const Event* event = journal_.next_after(sub.replay_after)) {
    sub.replay_after = event->seq;
    if (!wants(sub, *event)) continue;
    queue_.push(OutboundLine{event->is_message ? sub.message_prefix : sub.prefix, event->body});
    return true;
  }
  sub.phase = Subscription::Phase::kLive;  // caught up: published events now come by push
  return false;
}

bool SubscriptionStreams::produce(Subscription& sub) {
  if (sub.lag_pending() && !flush_lag(sub)) return false;  // the marker goes first
  if (sub.phase == Subscription::Phase::kSnapshot) return produce_snapshot(sub);
  if (sub.phase == Subscription::Phase::kReplay) return produce_replay(sub);
  return false;
}

void SubscriptionStreams::pump() {
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
}

}  // namespace coordd
