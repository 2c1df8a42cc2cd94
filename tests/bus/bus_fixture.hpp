// The message bus suite's words, on top of the integration fixture: a
// connection that says hello as an agent, send and broadcast requests, and
// reads of exactly the next line, so a test can say "the next thing this
// agent hears is the marker" and thereby prove it heard nothing else. Every
// wait has a deadline, as in the fixture. doctest's main thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/daemon_fixture.hpp"

namespace coordd::integration {

// A connection with one message tap ("messages" in `filters`) and no record
// events, its snapshot_end already read.
struct Tap {
  EventReader reader;
  std::uint64_t sub;
};
Tap connect_tap(const DaemonProcess& daemon, json::object filters);

// A new connection that said hello as `agent`; fails the test if refused.
EventReader connect_as(const DaemonProcess& daemon, std::string_view agent);
// Says hello as `agent` on `reader` and returns the reply: hello or error.
json::object hello_as(EventReader& reader, std::string_view agent, bool takeover = false);

// {"kind":"additional_context","content":content}: a kind anyone may send.
json::object context_message(std::string_view content);

// The reply to send{to,message}, and to broadcast{message}.
json::object send(EventReader& sender, std::string_view to, json::object message);
json::object broadcast(EventReader& sender, json::object message);
// The seq of a `sent` reply; fails the test when the reply is anything else.
std::uint64_t sent_seq(const json::object& reply);
// The code of an error reply; fails the test when the reply is not an error.
std::string error_code(const json::object& reply);
// The text of an error reply.
std::string error_text(const json::object& reply);

// Reads exactly one line (5 s deadline unless told).
json::object next_line(EventReader& reader, std::chrono::milliseconds timeout = kLineTimeout);
// A message line (agent or tap) with this seq.
LinePattern message_with_seq(std::uint64_t seq);
std::uint64_t seq_of(const json::object& line);
// message.content of an additional_context message line.
std::string content_of(const json::object& line);

// Checks that `lines` account for every seq from `first` to `last`, in
// order: each is the next message, or inside the next lagged marker (whose
// dropped count matches its range, as every seq in it was wanted). For a
// stream where nothing but those messages has a seq in that range.
void check_gapless(const std::vector<json::object>& lines, std::uint64_t first, std::uint64_t last);

// Asks status until exactly `count` agents are connected (5 s deadline):
// coordd notices a connection the test closed only when it reads the EOF.
void wait_for_connected_agents(EventReader& reader, std::size_t count);
// sync: once it returns, every record written before it has its event
// published, to every connection.
void sync(EventReader& reader);

}  // namespace coordd::integration
