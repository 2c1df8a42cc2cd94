#include "proto/cluster_value.hpp"

#include <boost/json.hpp>

namespace coordd {
namespace json = boost::json;

std::string encode_mirror_file(std::string_view data_json, std::string_view origin) {
  std::string out = "{\"";
  out += kMirrorMarkerField;
  out += "\":";
  out += json::serialize(json::string_view(origin.data(), origin.size()));
  std::string_view rest = data_json.substr(data_json.empty() ? 0 : 1);  // after '{'
  if (!rest.empty() && rest.front() != '}') out += ',';
  out += rest.empty() ? std::string_view("}") : rest;
  return out;
}

std::string encode_record_value(const RecordValueHeader& header, std::string_view data_json) {
  json::object head;
  head["origin"] = header.origin;
  head["epoch"] = header.epoch;
  head["seq"] = header.seq;
  head["ts"] = header.ts;
  std::string out = json::serialize(head);
  out += '\n';
  out += data_json;
  return out;
}

std::optional<RecordValue> decode_record_value(std::string_view bytes) {
  std::size_t newline = bytes.find('\n');
  if (newline == std::string_view::npos || newline + 1 >= bytes.size()) return std::nullopt;
  json::error_code ec;
  json::value head = json::parse(bytes.substr(0, newline), ec);
  if (ec || !head.is_object()) return std::nullopt;
  const json::object& o = head.get_object();
  const json::value* origin = o.if_contains("origin");
  const json::value* epoch = o.if_contains("epoch");
  const json::value* seq = o.if_contains("seq");
  const json::value* ts = o.if_contains("ts");
  if (!origin || !origin->is_string() || !epoch || !epoch->is_string() || !seq ||
      !(seq->is_uint64() || (seq->is_int64() && seq->get_int64() >= 0)) || !ts ||
      !ts->is_string()) {
    return std::nullopt;
  }
  RecordValue value;
  value.header.origin = std::string(origin->get_string());
  value.header.epoch = std::string(epoch->get_string());
  value.header.seq = seq->to_number<std::uint64_t>();
  value.header.ts = std::string(ts->get_string());
  value.data = bytes.substr(newline + 1);
  return value;
}

std::string encode_host_value(const HostValue& value) {
  return json::serialize(json::object{{"epoch", value.epoch}, {"ts", value.ts}});
}

std::optional<HostValue> decode_host_value(std::string_view bytes) {
  json::error_code ec;
  json::value v = json::parse(bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* epoch = v.get_object().if_contains("epoch");
  const json::value* ts = v.get_object().if_contains("ts");
  if (!epoch || !epoch->is_string() || !ts || !ts->is_string()) return std::nullopt;
  return HostValue{std::string(epoch->get_string()), std::string(ts->get_string())};
}

std::string encode_agent_value(const AgentValue& value) {
  return json::serialize(json::object{{"host", value.host},
                                      {"epoch", value.epoch},
                                      {"connected", value.connected},
                                      {"ts", value.ts}});
}

std::optional<AgentValue> decode_agent_value(std::string_view bytes) {
  json::error_code ec;
  json::value v = json::parse(bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  const json::value* host = o.if_contains("host");
  const json::value* epoch = o.if_contains("epoch");
  const json::value* connected = o.if_contains("connected");
  const json::value* ts = o.if_contains("ts");
  if (!host || !host->is_string() || !epoch || !epoch->is_string() || !connected ||
      !connected->is_bool() || !ts || !ts->is_string()) {
    return std::nullopt;
  }
  return AgentValue{std::string(host->get_string()), std::string(epoch->get_string()),
                    connected->get_bool(), std::string(ts->get_string())};
}

std::string encode_message_value(const MessageValue& value) {
  json::object o;
  o["id"] = value.id;
  if (value.from) {
    o["from"] = *value.from;
  } else {
    o["from"] = nullptr;
  }
  o["from_host"] = value.from_host;
  o["to"] = value.to;
  o["timestamp"] = value.timestamp;
  o["message"] = value.message;
  return json::serialize(o);
}

std::optional<MessageValue> decode_message_value(std::string_view bytes) {
  json::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value v = json::parse(bytes, ec, {}, options);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  auto text = [&](std::string_view key) -> const json::string* {
    const json::value* field = o.if_contains(key);
    return field && field->is_string() ? &field->get_string() : nullptr;
  };
  const json::value* from = o.if_contains("from");
  const json::value* message = o.if_contains("message");
  const json::string* id = text("id");
  const json::string* from_host = text("from_host");
  const json::string* to = text("to");
  const json::string* timestamp = text("timestamp");
  if (!id || !from_host || !to || !timestamp || !from || !(from->is_string() || from->is_null()) ||
      !message || !message->is_object()) {
    return std::nullopt;
  }
  MessageValue value;
  value.id = std::string(*id);
  if (from->is_string()) value.from = std::string(from->get_string());
  value.from_host = std::string(*from_host);
  value.to = std::string(*to);
  value.timestamp = std::string(*timestamp);
  value.message = message->get_object();
  return value;
}

}  // namespace coordd
