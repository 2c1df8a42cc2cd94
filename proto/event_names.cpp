#include "proto/event_names.hpp"

namespace coordd {

std::string_view event_type_name(EventType type) {
  switch (type) {
    case EventType::kSnapshot:
      return "snapshot";
    case EventType::kAdded:
      return "added";
    case EventType::kModified:
      return "modified";
    case EventType::kRemoved:
      return "removed";
    case EventType::kExpired:
      return "expired";
  }
  return "unknown";
}

std::string_view expiry_cause_name(ExpiryCause cause) {
  return cause == ExpiryCause::kTtl ? "ttl" : "released";
}

}  // namespace coordd
