// The names an event carries on the wire: its event_type, the cause of an
// expiry, and the schema_version of every event. Shared by the engine (which
// decides them) and the wire encoders (which print them).
#pragma once

#include <string_view>

namespace coordd {

enum class EventType { kSnapshot, kAdded, kModified, kRemoved, kExpired };
enum class ExpiryCause { kTtl, kReleased };

std::string_view event_type_name(EventType type);
std::string_view expiry_cause_name(ExpiryCause cause);

// The schema_version every event carries (a string, as in muse coord watch).
inline constexpr std::string_view kSchemaVersion = "1";

// The protocol version hello negotiates (PROTOCOL.md).
inline constexpr int kProtocolVersion = 1;

}  // namespace coordd
