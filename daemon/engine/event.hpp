// Event: one change to the coordination state, serialized once. The shared
// body is the JSON object minus its opening `{"type":"event","sub":N,` so every
// subscriber's line is that small prefix followed by the same bytes.
// Immutable after creation; shared between the journal and client queues.
// Its body is encoded by proto/wire.hpp.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/engine/active_leases.hpp"
#include "daemon/engine/record_ref.hpp"
#include "proto/event_names.hpp"

namespace coordd {

// A record event or, when is_message, an agent message. Both take their seq
// from the one global counter and travel through the same journal.
struct Event {
  std::uint64_t seq = 0;
  bool is_message = false;
  std::string from;          // messages: the sender's agent id ("" when anonymous)
  std::string to;            // messages: the recipient's agent id, or "*" for broadcast
  bool redelivered = false;  // messages: delivered before, not acked (body says so)
  EventType type = EventType::kAdded;
  RootId root = 0;      // the local root (records merged from other hosts: theirs)
  bool remote = false;  // a record of another host of the swarm
  std::string origin;   // its host id ("" when the daemon is not clustered)
  Kind kind = Kind::kReservation;
  std::string run_id;  // for filters
  std::string branch;
  // `"seq":N,"schema_version":...,"data":{...}}` plus the final "\n".
  std::shared_ptr<const std::string> body;
};

using EventPtr = std::shared_ptr<const Event>;

}  // namespace coordd
