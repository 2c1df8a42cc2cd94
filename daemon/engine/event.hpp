// Event: one change to the coordination state, serialized once. The shared
// body is the JSON object minus its opening `{"type":"event","sub":N,` so every
// subscriber's line is that small prefix followed by the same bytes.
// Immutable after creation; shared between the journal and client queues.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "daemon/engine/active_leases.hpp"
#include "daemon/engine/record_ref.hpp"

namespace coordd {

enum class EventType { kSnapshot, kAdded, kModified, kRemoved, kExpired };

std::string_view event_type_name(EventType type);
std::string_view expiry_cause_name(ExpiryCause cause);

// The schema_version every event carries (a string, as in muse coord watch).
inline constexpr std::string_view kSchemaVersion = "1";

// A record event or, when is_message, an agent message. Both take their seq
// from the one global counter and travel through the same journal.
struct Event {
  std::uint64_t seq = 0;
  bool is_message = false;
  std::string from;  // messages: the sender's agent id ("" when anonymous)
  std::string to;    // messages: the recipient's agent id, or "*" for broadcast
  EventType type = EventType::kAdded;
  RootId root = 0;
  Kind kind = Kind::kReservation;
  std::string run_id;  // for filters
  std::string branch;
  // `"seq":N,"schema_version":...,"data":{...}}` plus the final "\n".
  std::shared_ptr<const std::string> body;
};

using EventPtr = std::shared_ptr<const Event>;

struct EventFields {
  std::uint64_t seq;
  EventType type;
  Kind kind;
  std::string_view id;
  std::string_view timestamp;   // ISO 8601 UTC
  std::string_view root_json;   // the root path as a JSON string literal
  std::string_view data_json;   // the record as a JSON object
  std::optional<ExpiryCause> cause;
};

// Serializes the shared body (see Event::body).
std::string encode_event_body(const EventFields& fields);

// The per-subscriber prefix: `{"type":"event","sub":N,`.
std::string event_prefix(std::uint64_t sub);

// A message's shared body: `"seq":N,"from":..,"to":..,"timestamp":..,"message":{..}}\n`;
// its line starts with `{"type":"message",` (to an agent) or
// `{"type":"message","sub":N,` (to a tap).
std::string encode_message_body(std::uint64_t seq, std::string_view from_json,
                                std::string_view to, std::string_view timestamp,
                                std::string_view message_json);
std::string message_prefix(std::optional<std::uint64_t> sub);

}  // namespace coordd
