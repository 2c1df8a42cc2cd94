// The wire encoders (proto/wire.hpp) against the spec: every complete example
// line printed in proto/PROTOCOL.md is decoded into its encoder's input and
// must come out of that encoder byte for byte. Lines with "..." are not JSON
// and are left out; every line shape must have at least one complete example.
#include "proto/wire.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace coordd {
namespace {
namespace json = boost::json;

struct Example {
  std::string text;  // exactly as printed, without the newline
  json::object line;
};

// Every `{"type":...}` object in the spec that parses as JSON.
std::vector<Example> spec_examples() {
  std::ifstream in(COORDD_PROTOCOL_MD);
  REQUIRE_MESSAGE(in, "cannot read " COORDD_PROTOCOL_MD);
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string spec = buffer.str();
  std::vector<Example> examples;
  for (std::size_t at = spec.find("{\"type\":\""); at != std::string::npos;
       at = spec.find("{\"type\":\"", at + 1)) {
    json::stream_parser parser;
    boost::system::error_code ec;
    std::size_t used = parser.write_some(spec.data() + at, spec.size() - at, ec);
    if (ec || !parser.done()) continue;  // elided ("...") or prose
    json::value value = parser.release();
    std::string printed = spec.substr(at, used);  // the parser also takes trailing space
    printed.erase(printed.find_last_not_of(" \t\r\n") + 1);
    examples.push_back({printed, value.as_object()});
  }
  return examples;
}

std::string text(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}
std::uint64_t number(const json::object& o, std::string_view key) {
  return o.at(key).to_number<std::uint64_t>();
}
ReqId req_of(const json::object& o) { return o.if_contains("req"); }

std::string encode_event(const json::object& o) {
  static const std::map<std::string, EventType> types = {{"snapshot", EventType::kSnapshot},
                                                         {"added", EventType::kAdded},
                                                         {"modified", EventType::kModified},
                                                         {"removed", EventType::kRemoved},
                                                         {"expired", EventType::kExpired}};
  std::optional<ExpiryCause> cause;
  if (o.contains("cause")) {
    cause = text(o, "cause") == "ttl" ? ExpiryCause::kTtl : ExpiryCause::kReleased;
  }
  std::string root = json::serialize(o.at("root"));
  std::string data = json::serialize(o.at("data"));
  std::string id = text(o, "id");
  std::string timestamp = text(o, "timestamp");
  std::string origin = o.contains("origin") ? json::serialize(o.at("origin")) : "";
  EventFields fields{number(o, "seq"),
                     types.at(text(o, "event_type")),
                     *parse_kind(text(o, "kind")),
                     id,
                     timestamp,
                     root,
                     data,
                     cause,
                     origin};
  return event_prefix(number(o, "sub")) + event_body(fields);
}

std::string encode_message(const json::object& o) {
  std::optional<std::uint64_t> sub;
  if (o.contains("sub")) sub = number(o, "sub");
  return message_prefix(sub) + message_body(number(o, "seq"), json::serialize(o.at("from")),
                                            text(o, "to"), text(o, "timestamp"),
                                            json::serialize(o.at("message")));
}

std::string encode_hello(const json::object& o) {
  HelloReply hello;
  std::string server = text(o, "server"), epoch = text(o, "epoch"), backend = text(o, "backend");
  std::string agent;
  hello.server = server;
  hello.epoch = epoch;
  hello.seq = number(o, "seq");
  hello.backend = backend;
  for (const json::value& root : o.at("roots").as_array()) {
    hello.roots.emplace_back(root.as_string());
  }
  if (o.contains("agent")) {
    agent = text(o, "agent");
    hello.agent = agent;
    hello.mailbox = !o.contains("mailbox") || o.at("mailbox").as_bool();
    if (hello.mailbox) hello.waiting = number(o, "waiting");
    hello.ack = o.contains("ack") && o.at("ack").as_bool();
    if (o.contains("credit")) hello.credit = number(o, "credit");
  }
  return hello_line(req_of(o), hello);
}

std::string encode_subscribed(const json::object& o) {
  SubscribedReply reply{number(o, "sub"), number(o, "seq"), std::nullopt, std::nullopt};
  std::string reason;
  if (o.contains("resumed")) reply.resumed = o.at("resumed").as_bool();
  if (o.contains("reason")) {
    reason = text(o, "reason");
    reply.reason = reason;
  }
  return subscribed_line(req_of(o), reply);
}

std::string encode_lagged(const json::object& o) {
  if (o.contains("mailbox")) {
    return mailbox_lagged_line(text(o, "mailbox"), number(o, "from_seq"), number(o, "to_seq"),
                               number(o, "dropped"));
  }
  std::optional<std::uint64_t> dropped;
  if (!o.at("dropped").is_null()) dropped = number(o, "dropped");
  return lagged_line(number(o, "sub"), number(o, "from_seq"), number(o, "to_seq"), dropped);
}

std::string encode_list(const json::object& o) {
  ListWriter writer(req_of(o), number(o, "seq"));
  for (const json::value& v : o.at("records").as_array()) {
    const json::object& r = v.as_object();
    std::string id = text(r, "id"), root = json::serialize(r.at("root"));
    std::string data = json::serialize(r.at("data")), expiry;
    std::string origin = r.contains("origin") ? json::serialize(r.at("origin")) : "";
    ListEntry entry{*parse_kind(text(r, "kind")),
                    id,
                    root,
                    number(r, "seq"),
                    false,
                    false,
                    std::nullopt,
                    data,
                    origin};
    if (r.contains("active")) {
      entry.lease = true;
      entry.active = r.at("active").as_bool();
      if (!r.at("effective_expires_at").is_null()) {
        expiry = text(r, "effective_expires_at");
        entry.effective_expires_at = expiry;
      }
    }
    writer.add(entry);
  }
  return std::move(writer).finish();
}

// The line `encoder` of this example's shape writes for its fields.
std::string encode(const json::object& o) {
  std::string type = text(o, "type");
  if (type == "event") return encode_event(o);
  if (type == "message") return encode_message(o);
  if (type == "hello") return encode_hello(o);
  if (type == "subscribed") return encode_subscribed(o);
  if (type == "lagged") return encode_lagged(o);
  if (type == "list") return encode_list(o);
  if (type == "error") return error_line(req_of(o), text(o, "code"), text(o, "message"));
  if (type == "snapshot_end") {
    return snapshot_end_line(number(o, "sub"), number(o, "seq"), o.contains("resync"));
  }
  if (type == "synced") {
    std::vector<DegradedRoot> degraded;
    if (const json::value* roots = o.if_contains("degraded")) {
      for (const json::value& root : roots->as_array()) {
        degraded.push_back({text(root.as_object(), "root"), text(root.as_object(), "reason")});
      }
    }
    return synced_line(req_of(o), number(o, "seq"), degraded);
  }
  if (type == "sent") {
    std::optional<std::size_t> recipients;
    if (o.contains("recipients")) recipients = number(o, "recipients");
    return sent_line(req_of(o), number(o, "seq"), recipients);
  }
  if (type == "pong") return pong_line(req_of(o));
  if (type == "acked") return acked_line(req_of(o), number(o, "acked"), number(o, "unacked"));
  if (type == "unsubscribed") return unsubscribed_line(req_of(o), number(o, "sub"));
  if (type == "watching") {
    return watching_line(req_of(o), text(o, "path"), text(o, "backend"), number(o, "seq"));
  }
  if (type == "unwatched") return unwatched_line(req_of(o), text(o, "path"), number(o, "seq"));
  FAIL_CHECK("no encoder for the spec's line shape '", type, "'");
  return "";
}

}  // namespace

TEST_CASE("every complete example line in PROTOCOL.md is what its encoder writes") {
  std::vector<Example> examples = spec_examples();
  REQUIRE(examples.size() >= 20);
  std::set<std::string> shapes;
  for (const Example& example : examples) {
    CAPTURE(example.text);
    CHECK(encode(example.line) == example.text + "\n");
    std::string shape = text(example.line, "type");
    if (shape == "lagged") shape += example.line.contains("mailbox") ? " (mailbox)" : " (sub)";
    shapes.insert(shape);
    // In a swarm events and list records carry origin: one example each.
    if (shape == "event" && example.line.contains("origin")) shapes.insert("event (origin)");
    if (shape == "list") {
      for (const json::value& r : example.line.at("records").as_array()) {
        if (r.as_object().contains("origin")) shapes.insert("list (origin)");
      }
    }
  }
  for (const char* shape :
       {"event", "event (origin)", "list (origin)", "message", "error", "hello", "subscribed",
        "snapshot_end", "synced", "lagged (sub)", "lagged (mailbox)", "sent", "list", "pong",
        "unsubscribed", "watching", "unwatched"}) {
    CAPTURE(shape);
    CHECK_MESSAGE(shapes.contains(shape), "PROTOCOL.md has no complete example of this shape");
  }
}

TEST_CASE("an event line is the subscriber's prefix followed by the shared body") {
  EventFields fields{7,    EventType::kExpired,         Kind::kReservation,
                     "r1", "2026-03-30T15:00:00+00:00", "\"/repo\"",
                     "{}", ExpiryCause::kReleased};
  CHECK(event_prefix(3) + event_body(fields) ==
        "{\"type\":\"event\",\"sub\":3,\"seq\":7,\"schema_version\":\"1\",\"event_type\":"
        "\"expired\",\"kind\":\"reservation\",\"id\":\"r1\",\"timestamp\":\"2026-03-30T15:00:00+"
        "00:00\",\"root\":\"/repo\",\"cause\":\"released\",\"data\":{}}\n");
}

TEST_CASE("a reply echoes any scalar req, and strings are escaped") {
  json::value req = "a\"b";
  CHECK(error_line(&req, "bad_field", "tab\there") ==
        "{\"type\":\"error\",\"req\":\"a\\\"b\",\"code\":\"bad_field\",\"message\":\"tab\\there\"}"
        "\n");
  CHECK(pong_line(nullptr) == "{\"type\":\"pong\"}\n");
}

}  // namespace coordd
