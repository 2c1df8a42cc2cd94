// The value a coordd stores in the swarm's records bucket for one record: a
// one-line JSON header, a newline, then the record's JSON exactly as coordd
// holds it (numbers as written), so the data is never re-encoded on the way:
//   {"origin":"H","epoch":"E","seq":N,"ts":"2026-12-01T10:00:00.000000Z"}\n{...}
// Pure functions; any thread.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace coordd {

// A mirror copy (coordd --mirror) of another host's record in the local
// .muse/coordination/: the record with this top-level field first, naming
// the host it came from. coordd never takes such a file for a record of its
// own host (so never publishes it back), and Muse's tools, which read the
// fields they know, see the record as its origin wrote it.
inline constexpr std::string_view kMirrorMarkerField = "coordd_mirror_of";
// The file's bytes: `data_json` (a compact JSON object, as coordd holds a
// record) with the marker naming `origin` inserted first.
std::string encode_mirror_file(std::string_view data_json, std::string_view origin);

struct RecordValueHeader {
  std::string origin;     // the host id that read the record from its disk
  std::string epoch;      // that host's run (DaemonInfo::epoch)
  std::uint64_t seq = 0;  // its local seq of the change
  std::string ts;         // its wall clock when it published the value, ISO 8601 UTC
};

std::string encode_record_value(const RecordValueHeader& header, std::string_view data_json);

struct RecordValue {
  RecordValueHeader header;
  std::string_view data;  // into the decoded bytes
};
// nullopt when the bytes are not a header line with every field of the
// right type followed by a non-empty body (the body is checked by whoever
// parses records).
std::optional<RecordValue> decode_record_value(std::string_view bytes);

// A host's entry in the hosts bucket: {"epoch":"E","ts":"ISO"}, the run
// holding the host id and when it last said so.
struct HostValue {
  std::string epoch;
  std::string ts;
};
std::string encode_host_value(const HostValue& value);
std::optional<HostValue> decode_host_value(std::string_view bytes);

// An agent's entry in the agents bucket (the swarm's registry of agent
// names): the host whose coordd holds its mailbox, that coordd's run, whether
// the agent is connected there now, and since when (ISO 8601 UTC) it is in
// that state: {"host":"H","epoch":"E","connected":true,"ts":"ISO"}.
struct AgentValue {
  std::string host;
  std::string epoch;
  bool connected = false;
  std::string ts;
};
std::string encode_agent_value(const AgentValue& value);
std::optional<AgentValue> decode_agent_value(std::string_view bytes);

// An agent message as it travels between hosts (stored in the message
// stream, or published for broadcasts and taps):
//   {"id":"H:E:N","from":"X"|null,"from_host":"H","to":"Y"|"*","timestamp":"ISO","message":{...}}
// `id` (also the Nats-Msg-Id header) names the message swarm-wide: the
// sender's host, its run and a counter of that run.
struct MessageValue {
  std::string id;
  std::optional<std::string> from;
  std::string from_host;
  std::string to;
  std::string timestamp;
  boost::json::object message;
};
std::string encode_message_value(const MessageValue& value);
// nullopt when a field is missing or of the wrong type (ids and the
// message's kind are the receiver's to check).
std::optional<MessageValue> decode_message_value(std::string_view bytes);

}  // namespace coordd
