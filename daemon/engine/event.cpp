#include "daemon/engine/event.hpp"

namespace coordd {

std::string_view event_type_name(EventType type) {
  switch (type) {
    case EventType::kSnapshot: return "snapshot";
    case EventType::kAdded: return "added";
    case EventType::kModified: return "modified";
    case EventType::kRemoved: return "removed";
    case EventType::kExpired: return "expired";
  }
  return "unknown";
}

std::string_view expiry_cause_name(ExpiryCause cause) {
  return cause == ExpiryCause::kTtl ? "ttl" : "released";
}

std::string encode_event_body(const EventFields& f) {
  // Every piece is either a number, a fixed name, a validated record id
  // ([A-Za-z0-9._:-]) or already-encoded JSON, so plain concatenation is safe.
  std::string out;
  out.reserve(160 + f.data_json.size() + f.root_json.size());
  out += "\"seq\":";
  out += std::to_string(f.seq);
  out += ",\"schema_version\":\"";
  out += kSchemaVersion;
  out += "\",\"event_type\":\"";
  out += event_type_name(f.type);
  out += "\",\"kind\":\"";
  out += kind_name(f.kind);
  out += "\",\"id\":\"";
  out += f.id;
  out += "\",\"timestamp\":\"";
  out += f.timestamp;
  out += "\",\"root\":";
  out += f.root_json;
  if (f.cause) {
    out += ",\"cause\":\"";
    out += expiry_cause_name(*f.cause);
    out += '"';
  }
  out += ",\"data\":";
  out += f.data_json;
  out += "}\n";
  return out;
}

std::string event_prefix(std::uint64_t sub) {
  return "{\"type\":\"event\",\"sub\":" + std::to_string(sub) + ",";
}

std::string encode_message_body(std::uint64_t seq, std::string_view from_json,
                                std::string_view to, std::string_view timestamp,
                                std::string_view message_json) {
  // `to` is a validated agent id or "*"; from_json is a JSON literal.
  std::string out = "\"seq\":" + std::to_string(seq) + ",\"from\":";
  out += from_json;
  out += ",\"to\":\"";
  out += to;
  out += "\",\"timestamp\":\"";
  out += timestamp;
  out += "\",\"message\":";
  out += message_json;
  out += "}\n";
  return out;
}

std::string message_prefix(std::optional<std::uint64_t> sub) {
  if (!sub) return "{\"type\":\"message\",";
  return "{\"type\":\"message\",\"sub\":" + std::to_string(*sub) + ",";
}

}  // namespace coordd
