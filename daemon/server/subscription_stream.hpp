// Subscription: one `subscribe` on a connection: its filter, how far it has
// got through its snapshot or journal replay, and the gap it owes a `lagged`
// marker for. Owned by its Connection; reactor thread only.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "daemon/engine/event_filter.hpp"
#include "daemon/engine/record_ref.hpp"

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
  std::string prefix;          // `{"type":"event","sub":N,`
  std::string message_prefix;  // `{"type":"message","sub":N,`
  Phase phase = Phase::kLive;

  std::uint64_t snapshot_seq = 0;  // the S of subscribed/snapshot_end
  bool resync = false;  // a resume was refused: the client must rebuild its state
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

}  // namespace coordd
