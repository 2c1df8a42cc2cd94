#include "proto/muse_records.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/python_string.hpp"
#include "proto/sha256.hpp"

namespace coordd {
namespace json = boost::json;
namespace {

void append_string(std::string& out, std::string_view text) {
  append_python_json_string(out, text);
}

// json.dumps with indent=2 (`indent` >= 0: the current depth) or compact
// with sorted keys (`indent` < 0: sort_keys=True, separators=(",", ":")).
void append_value(std::string& out, const json::value& value, int indent) {
  auto newline = [&](int depth) {
    out += '\n';
    out.append(std::size_t(2 * depth), ' ');
  };
  switch (value.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      break;
    case json::kind::int64:
      out += std::to_string(value.get_int64());
      break;
    case json::kind::uint64:
      out += std::to_string(value.get_uint64());
      break;
    case json::kind::double_:
      out += json::serialize(value);
      break;  // records carry none
    case json::kind::string:
      append_string(out, value.get_string());
      break;
    case json::kind::array: {
      const json::array& array = value.get_array();
      if (array.empty()) {
        out += "[]";
        break;
      }
      out += '[';
      for (std::size_t i = 0; i < array.size(); ++i) {
        if (i > 0) out += ',';
        if (indent >= 0) newline(indent + 1);
        append_value(out, array[i], indent >= 0 ? indent + 1 : indent);
      }
      if (indent >= 0) newline(indent);
      out += ']';
      break;
    }
    case json::kind::object: {
      const json::object& object = value.get_object();
      if (object.empty()) {
        out += "{}";
        break;
      }
      std::vector<const json::key_value_pair*> entries;
      for (const json::key_value_pair& entry : object) entries.push_back(&entry);
      if (indent < 0) {
        std::sort(entries.begin(), entries.end(),
                  [](auto* a, auto* b) { return a->key() < b->key(); });
      }
      out += '{';
      for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) out += ',';
        if (indent >= 0) newline(indent + 1);
        append_string(out, entries[i]->key());
        out += indent >= 0 ? ": " : ":";
        append_value(out, entries[i]->value(), indent >= 0 ? indent + 1 : indent);
      }
      if (indent >= 0) newline(indent);
      out += '}';
      break;
    }
  }
}

// `body` with `id_field` inserted after schema_version, its id computed from
// the body as it was.
MuseRecord with_id(Kind kind, std::string_view id_field, json::object body) {
  MuseRecord record;
  record.kind = kind;
  record.id = content_id(body);
  record.data["schema_version"] = kMuseRecordSchemaVersion;
  record.data[id_field] = record.id;
  for (auto& [key, value] : body) {
    if (key != "schema_version") record.data[key] = std::move(value);
  }
  return record;
}

}  // namespace

std::string content_id(const json::object& body) {
  std::string canonical;
  append_value(canonical, body, -1);
  return sha256_hex(canonical);
}

std::string muse_file_text(const json::value& value) {
  std::string out;
  append_value(out, value, 0);
  return out;
}

MuseRecord reservation_record(const ReservationFields& fields) {
  json::array addresses;
  for (const std::string& address : fields.addresses) addresses.emplace_back(address);
  json::object body;
  body["schema_version"] = kMuseRecordSchemaVersion;
  body["run_id"] = fields.run_id;
  body["branch"] = fields.branch;
  body["addresses"] = std::move(addresses);
  body["created_at"] = format_timestamp(fields.created_at);
  body["expires_at"] = format_timestamp(fields.expires_at);
  if (fields.operation) {
    body["operation"] = *fields.operation;
  } else {
    body["operation"] = nullptr;
  }
  return with_id(Kind::kReservation, "reservation_id", std::move(body));
}

MuseRecord heartbeat_record(const HeartbeatFields& fields) {
  json::object body;
  body["schema_version"] = kMuseRecordSchemaVersion;
  body["reservation_id"] = fields.reservation_id;
  body["run_id"] = fields.run_id;
  body["created_at"] = format_timestamp(fields.created_at);
  body["extended_expires_at"] = format_timestamp(fields.extended_expires_at);
  return with_id(Kind::kHeartbeat, "heartbeat_id", std::move(body));
}

MuseRecord release_record(const ReleaseFields& fields) {
  json::object body;
  body["schema_version"] = kMuseRecordSchemaVersion;
  body["reservation_id"] = fields.reservation_id;
  body["run_id"] = fields.run_id;
  body["reason"] = fields.reason;
  body["created_at"] = format_timestamp(fields.created_at);
  return with_id(Kind::kRelease, "release_id", std::move(body));
}

}  // namespace coordd
