// The wire: one encoder for every line shape of proto/PROTOCOL.md (event,
// message, error, hello, subscribed, snapshot_end, synced, lagged for a
// subscription and for a mailbox, sent, list, pong and the small
// acknowledgements). Each returns a whole line ending in '\n', except the
// event and message pieces, which are split so a body is serialized once and
// shared by every subscriber behind its own small prefix.
// Pure functions; any thread. tests/unit/wire_test.cpp checks each against
// the example lines printed in PROTOCOL.md.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/event_names.hpp"
#include "proto/kind.hpp"

namespace coordd {

// A request's "req" as echoed in its replies (null when it had none).
using ReqId = const boost::json::value*;

// --- events and messages -------------------------------------------------

struct EventFields {
  std::uint64_t seq;
  EventType type;
  Kind kind;
  std::string_view id;
  std::string_view timestamp;  // ISO 8601 UTC
  std::string_view root_json;  // the root path as a JSON string literal
  std::string_view data_json;  // the record as a JSON object
  std::optional<ExpiryCause> cause;
  // The host id of the record's origin as a JSON string literal; empty on a
  // daemon that is not clustered (then the field is left out).
  std::string_view origin_json = {};
};

// An event line is event_prefix(sub) + event_body(fields):
// `{"type":"event","sub":N,` + `"seq":...,"data":{...}}\n`.
std::string event_prefix(std::uint64_t sub);
std::string event_body(const EventFields& fields);

// A message line is message_prefix(sub) + message_body(...): without a sub
// (delivered to an agent) `{"type":"message",`, to a tap
// `{"type":"message","sub":N,`; from_json is a JSON literal (an id or null).
// `from_host` (in a swarm: the sender's host id) ends the line when given.
std::string message_prefix(std::optional<std::uint64_t> sub);
std::string message_body(std::uint64_t seq, std::string_view from_json, std::string_view to,
                         std::string_view timestamp, std::string_view message_json,
                         std::string_view from_host = {});
// The same message body, marked as delivered before and not acked:
// `...,"redelivered":true}` (PROTOCOL.md, "Acknowledged delivery").
std::string redelivered_message_body(std::string_view body);

// --- markers --------------------------------------------------------------

// `{"type":"snapshot_end","sub":K,"seq":S}` (+ `"resync":true`).
std::string snapshot_end_line(std::uint64_t sub, std::uint64_t seq, bool resync);
// `{"type":"lagged","sub":K,"from_seq":A,"to_seq":B,"dropped":N}`; dropped
// is null when the gap is not counted (journal compaction).
std::string lagged_line(std::uint64_t sub, std::uint64_t from_seq, std::uint64_t to_seq,
                        std::optional<std::uint64_t> dropped);
// `{"type":"lagged","mailbox":"<agent>","from_seq":A,"to_seq":B,"dropped":N}`.
std::string mailbox_lagged_line(std::string_view agent, std::uint64_t from_seq,
                                std::uint64_t to_seq, std::uint64_t dropped);

// --- replies --------------------------------------------------------------

// `{"type":"error","req":...,"code":...,"message":...}`; req may be null.
std::string error_line(ReqId req, std::string_view code, std::string_view message);

struct HelloReply {
  std::string_view server;  // "coordd/<version>"
  std::string_view epoch;
  std::uint64_t seq = 0;
  std::string_view backend;
  std::vector<std::string> roots;
  std::optional<std::string_view> agent;  // with a waiting count
  std::size_t waiting = 0;
  bool mailbox = true;  // false: the agent named for sending only (no waiting)
  bool ack = false;     // acknowledged delivery, with `credit` when bounded
  std::optional<std::size_t> credit;
};
std::string hello_line(ReqId req, const HelloReply& hello);
// `{"type":"acked","acked":N,"unacked":U}`.
std::string acked_line(ReqId req, std::size_t acked, std::size_t unacked);

struct SubscribedReply {
  std::uint64_t sub = 0;
  std::uint64_t seq = 0;
  std::optional<bool> resumed;             // present when the request had since
  std::optional<std::string_view> reason;  // why not resumed
};
std::string subscribed_line(ReqId req, const SubscribedReply& subscribed);

// A root sync could not vouch for, and why.
struct DegradedRoot {
  std::string root;
  std::string reason;
};
// `{"type":"synced","seq":S}` (+ `"degraded":[{"root":..,"reason":..}]`
// when some roots cannot be watched right now).
std::string synced_line(ReqId req, std::uint64_t seq,
                        const std::vector<DegradedRoot>& degraded = {});
// `{"type":"sent","seq":N}` (+ `"recipients":R` for a broadcast, and
// `"recipients_lower_bound":true` when R counts only what this coordd knows).
std::string sent_line(ReqId req, std::uint64_t seq, std::optional<std::size_t> recipients,
                      bool lower_bound = false);
std::string pong_line(ReqId req);
std::string unsubscribed_line(ReqId req, std::uint64_t sub);
// watch_root / unwatch_root: `{"type":"watching","path":P,"backend":B,"seq":N}`
// and `{"type":"unwatched","path":P,"seq":N}`.
std::string watching_line(ReqId req, std::string_view path, std::string_view backend,
                          std::uint64_t seq);
std::string unwatched_line(ReqId req, std::string_view path, std::uint64_t seq);
// Any other reply: `{"type":T,"req":...}` followed by `fields` in order.
std::string reply_line(ReqId req, std::string_view type, const boost::json::object& fields);

// The list reply, written record by record (record data is stored already
// serialized): ListWriter list(req, seq); list.add(...)...; list.finish().
struct ListEntry {
  Kind kind;
  std::string_view id;
  std::string_view root_json;
  std::uint64_t seq = 0;
  bool lease = false;  // reservations and claims carry the two lease fields
  bool active = false;
  std::optional<std::string_view> effective_expires_at;
  std::string_view data_json;
  std::string_view origin_json = {};  // as in EventFields: empty leaves it out
};
class ListWriter {
 public:
  ListWriter(ReqId req, std::uint64_t seq);
  void add(const ListEntry& entry);
  std::string finish() &&;

 private:
  std::string line_;
  bool first_ = true;
};

}  // namespace coordd
