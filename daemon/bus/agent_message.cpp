#include "daemon/bus/agent_message.hpp"

#include <array>
#include <boost/json.hpp>

namespace coordd {
namespace {

enum class FieldType { kString, kCount, kBool, kObject, kStrings, kAgentId };

struct Field {
  std::string_view name;
  FieldType type;
};

struct MessageKind {
  std::string_view kind;
  std::array<Field, 3> fields;
  std::size_t count;
};

// rustagent's WorkerMessage variants. GraphNode values (decision, node) are
// passed through as objects.
constexpr std::array<MessageKind, 9> kKinds = {{
    {"progress_report",
     {{{"agent_id", FieldType::kAgentId},
       {"turn", FieldType::kCount},
       {"summary", FieldType::kString}}},
     3},
    {"task_completed",
     {{{"agent_id", FieldType::kAgentId},
       {"task_id", FieldType::kString},
       {"summary", FieldType::kString}}},
     3},
    {"task_blocked",
     {{{"agent_id", FieldType::kAgentId},
       {"task_id", FieldType::kString},
       {"reason", FieldType::kString}}},
     3},
    {"needs_decision",
     {{{"agent_id", FieldType::kAgentId},
       {"task_id", FieldType::kString},
       {"decision", FieldType::kObject}}},
     3},
    {"node_created",
     {{{"agent_id", FieldType::kAgentId},
       {"parent_id", FieldType::kString},
       {"node", FieldType::kObject}}},
     3},
    {"cancel", {{{"reason", FieldType::kString}}}, 1},
    {"additional_context", {{{"content", FieldType::kString}}}, 1},
    {"review_request",
     {{{"work_package_id", FieldType::kString}, {"changed_files", FieldType::kStrings}}},
     2},
    {"review_feedback", {{{"approved", FieldType::kBool}, {"comments", FieldType::kStrings}}}, 2},
}};

std::string_view type_text(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "a string";
    case FieldType::kCount:
      return "a non-negative integer";
    case FieldType::kBool:
      return "true or false";
    case FieldType::kObject:
      return "an object";
    case FieldType::kStrings:
      return "an array of strings";
    case FieldType::kAgentId:
      return "an agent id";
  }
  return "?";
}

bool has_type(const boost::json::value& v, FieldType type) {
  switch (type) {
    case FieldType::kString:
    case FieldType::kAgentId:
      return v.is_string();
    case FieldType::kCount:
      return v.is_uint64() || (v.is_int64() && v.get_int64() >= 0);
    case FieldType::kBool:
      return v.is_bool();
    case FieldType::kObject:
      return v.is_object();
    case FieldType::kStrings:
      if (!v.is_array()) return false;
      for (const auto& item : v.get_array()) {
        if (!item.is_string()) return false;
      }
      return true;
  }
  return false;
}

std::string known_kinds() {
  std::string out;
  for (const MessageKind& k : kKinds)
    out += std::string(out.empty() ? "" : ", ") + std::string(k.kind);
  return out + ", or a custom kind starting with \"x-\"";
}

}  // namespace

bool is_valid_agent_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '@' || c == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

Status bad_message(std::string message) { return Status::error("bad_message", std::move(message)); }

}  // namespace

Status validate_message(boost::json::object& message, const std::optional<std::string>& sender) {
  auto kind_it = message.find("kind");
  if (kind_it == message.end() || !kind_it->value().is_string()) {
    return bad_message("message.kind must be a string: " + known_kinds());
  }
  std::string kind(kind_it->value().get_string());
  if (kind.starts_with("x-") && kind.size() > 2) return Status();
  const MessageKind* spec = nullptr;
  for (const MessageKind& k : kKinds) {
    if (k.kind == kind) spec = &k;
  }
  if (!spec)
    return bad_message("message.kind '" + kind + "' is unknown; expected " + known_kinds());
  for (std::size_t i = 0; i < spec->count; ++i) {
    const Field& field = spec->fields[i];
    std::string name(field.name);
    auto it = message.find(name);
    if (field.type == FieldType::kAgentId) {
      if (it == message.end() || it->value().is_null()) {
        if (!sender) {
          return bad_message("message.agent_id: " + kind +
                             " comes from an agent; send hello with \"agent\" first");
        }
        message[name] = *sender;
        continue;
      }
      if (!it->value().is_string()) return bad_message("message.agent_id must be a string");
      if (!sender || it->value().get_string() != *sender) {
        return bad_message("message.agent_id '" + std::string(it->value().get_string()) +
                           "' is not this connection's agent (" +
                           (sender ? *sender : std::string("none")) +
                           "); agents may only send as themselves");
      }
      continue;
    }
    if (it == message.end()) return bad_message("message." + name + " is required for " + kind);
    if (!has_type(it->value(), field.type)) {
      return bad_message("message." + name + " must be " + std::string(type_text(field.type)));
    }
  }
  return Status();
}

}  // namespace coordd
