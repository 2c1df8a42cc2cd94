#include "proto/wire.hpp"

#include <boost/json/serialize.hpp>

namespace coordd {
namespace json = boost::json;

namespace {

// `{"type":T` (+ `,"req":R`) for a reply built as an object.
json::object reply_object(ReqId req, std::string_view type) {
  json::object out;
  out["type"] = type;
  if (req) out["req"] = *req;
  return out;
}

std::string line_of(const json::object& obj) { return json::serialize(obj) + "\n"; }

}  // namespace

std::string event_prefix(std::uint64_t sub) {
  return "{\"type\":\"event\",\"sub\":" + std::to_string(sub) + ",";
}

std::string event_body(const EventFields& f) {
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
  if (!f.origin_json.empty()) {
    out += ",\"origin\":";
    out += f.origin_json;
  }
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

std::string message_prefix(std::optional<std::uint64_t> sub) {
  if (!sub) return "{\"type\":\"message\",";
  return "{\"type\":\"message\",\"sub\":" + std::to_string(*sub) + ",";
}

std::string message_body(std::uint64_t seq, std::string_view from_json, std::string_view to,
                         std::string_view timestamp, std::string_view message_json,
                         std::string_view from_host) {
  // `to` is a validated agent id or "*"; from_json is a JSON literal.
  std::string out = "\"seq\":" + std::to_string(seq) + ",\"from\":";
  out += from_json;
  out += ",\"to\":\"";
  out += to;
  out += "\",\"timestamp\":\"";
  out += timestamp;
  out += "\",\"message\":";
  out += message_json;
  if (!from_host.empty()) {
    out += ",\"from_host\":";
    out += json::serialize(json::string_view(from_host.data(), from_host.size()));
  }
  out += "}\n";
  return out;
}

std::string redelivered_message_body(std::string_view body) {
  // A body ends with "}\n" (message_body).
  std::string out(body.substr(0, body.size() >= 2 ? body.size() - 2 : 0));
  out += ",\"redelivered\":true}\n";
  return out;
}

std::string snapshot_end_line(std::uint64_t sub, std::uint64_t seq, bool resync) {
  return "{\"type\":\"snapshot_end\",\"sub\":" + std::to_string(sub) +
         ",\"seq\":" + std::to_string(seq) + (resync ? ",\"resync\":true}\n" : "}\n");
}

std::string lagged_line(std::uint64_t sub, std::uint64_t from_seq, std::uint64_t to_seq,
                        std::optional<std::uint64_t> dropped) {
  std::string line = "{\"type\":\"lagged\",\"sub\":" + std::to_string(sub) +
                     ",\"from_seq\":" + std::to_string(from_seq) +
                     ",\"to_seq\":" + std::to_string(to_seq) + ",\"dropped\":";
  line += dropped ? std::to_string(*dropped) : "null";
  line += "}\n";
  return line;
}

std::string mailbox_lagged_line(std::string_view agent, std::uint64_t from_seq,
                                std::uint64_t to_seq, std::uint64_t dropped) {
  // Agent ids are validated ([A-Za-z0-9._:@-]): no escaping needed.
  std::string line = "{\"type\":\"lagged\",\"mailbox\":\"";
  line += agent;
  line += "\",\"from_seq\":" + std::to_string(from_seq) + ",\"to_seq\":" + std::to_string(to_seq) +
          ",\"dropped\":" + std::to_string(dropped) + "}\n";
  return line;
}

std::string error_line(ReqId req, std::string_view code, std::string_view message) {
  json::object out = reply_object(req, "error");
  out["code"] = code;
  out["message"] = message;
  return line_of(out);
}

std::string hello_line(ReqId req, const HelloReply& hello) {
  json::object out = reply_object(req, "hello");
  out["proto"] = kProtocolVersion;
  out["server"] = hello.server;
  out["epoch"] = hello.epoch;
  out["seq"] = hello.seq;
  out["backend"] = hello.backend;
  json::array roots;
  for (const std::string& root : hello.roots) roots.emplace_back(root);
  out["roots"] = std::move(roots);
  if (hello.agent) {
    out["agent"] = *hello.agent;
    if (!hello.mailbox) {
      out["mailbox"] = false;
    } else {
      out["waiting"] = hello.waiting;
    }
    if (hello.ack) out["ack"] = true;
    if (hello.credit) out["credit"] = *hello.credit;
  }
  return line_of(out);
}

std::string acked_line(ReqId req, std::size_t acked, std::size_t unacked) {
  json::object out = reply_object(req, "acked");
  out["acked"] = acked;
  out["unacked"] = unacked;
  return line_of(out);
}

std::string subscribed_line(ReqId req, const SubscribedReply& subscribed) {
  json::object out = reply_object(req, "subscribed");
  out["sub"] = subscribed.sub;
  out["seq"] = subscribed.seq;
  if (subscribed.resumed) out["resumed"] = *subscribed.resumed;
  if (subscribed.reason) out["reason"] = *subscribed.reason;
  return line_of(out);
}

std::string synced_line(ReqId req, std::uint64_t seq, const std::vector<DegradedRoot>& degraded) {
  json::object out = reply_object(req, "synced");
  out["seq"] = seq;
  if (!degraded.empty()) {
    json::array roots;
    for (const DegradedRoot& root : degraded) {
      roots.push_back(json::object{{"root", root.root}, {"reason", root.reason}});
    }
    out["degraded"] = std::move(roots);
  }
  return line_of(out);
}

std::string sent_line(ReqId req, std::uint64_t seq, std::optional<std::size_t> recipients,
                      bool lower_bound) {
  json::object out = reply_object(req, "sent");
  out["seq"] = seq;
  if (recipients) out["recipients"] = *recipients;
  if (recipients && lower_bound) out["recipients_lower_bound"] = true;
  return line_of(out);
}

std::string pong_line(ReqId req) { return line_of(reply_object(req, "pong")); }

std::string unsubscribed_line(ReqId req, std::uint64_t sub) {
  json::object out = reply_object(req, "unsubscribed");
  out["sub"] = sub;
  return line_of(out);
}

std::string watching_line(ReqId req, std::string_view path, std::string_view backend,
                          std::uint64_t seq) {
  json::object out = reply_object(req, "watching");
  out["path"] = path;
  out["backend"] = backend;
  out["seq"] = seq;
  return line_of(out);
}

std::string unwatched_line(ReqId req, std::string_view path, std::uint64_t seq) {
  json::object out = reply_object(req, "unwatched");
  out["path"] = path;
  out["seq"] = seq;
  return line_of(out);
}

std::string reply_line(ReqId req, std::string_view type, const json::object& fields) {
  json::object out = reply_object(req, type);
  for (const auto& field : fields) out[field.key()] = field.value();
  return line_of(out);
}

ListWriter::ListWriter(ReqId req, std::uint64_t seq) {
  json::object head = reply_object(req, "list");
  head["seq"] = seq;
  line_ = json::serialize(head);
  line_.pop_back();  // reopen the object
  line_ += ",\"records\":[";
}

void ListWriter::add(const ListEntry& entry) {
  if (!first_) line_ += ',';
  first_ = false;
  line_ += "{\"kind\":\"";
  line_ += kind_name(entry.kind);
  line_ += "\",\"id\":\"";
  line_ += entry.id;
  line_ += "\",\"root\":";
  line_ += entry.root_json;
  if (!entry.origin_json.empty()) {
    line_ += ",\"origin\":";
    line_ += entry.origin_json;
  }
  line_ += ",\"seq\":" + std::to_string(entry.seq);
  if (entry.lease) {
    line_ += entry.active ? ",\"active\":true" : ",\"active\":false";
    line_ += ",\"effective_expires_at\":";
    if (entry.effective_expires_at) {
      line_ += '"';
      line_ += *entry.effective_expires_at;
      line_ += '"';
    } else {
      line_ += "null";
    }
  }
  line_ += ",\"data\":";
  line_ += entry.data_json;
  line_ += '}';
}

std::string ListWriter::finish() && {
  line_ += "]}\n";
  return std::move(line_);
}

}  // namespace coordd
