// Lag applies to messages too: a tap or an agent that stops reading while
// broadcasts pile up gets lagged markers covering exactly what it missed, in
// seq order, never a silent gap.
#include <doctest/doctest.h>

#include "tests/bus/bus_fixture.hpp"

namespace coordd::integration {
namespace {

// 2 KB: a few hundred of these are far more than a socket buffer holds.
json::object bulky_broadcast(int n) {
  return json::object{{"kind", "x-load"}, {"n", n}, {"padding", std::string(2000, 'p')}};
}

// A line that is, or covers, the message with this seq.
LinePattern delivered_or_lagged(std::uint64_t seq) {
  return LinePattern{
      "the message with seq " + std::to_string(seq) + ", or a lagged marker over it",
      [seq](const json::object& line) {
        return (line.at("type") == "message" && line.at("seq") == seq) ||
               (line.at("type") == "lagged" && line.at("to_seq").to_number<std::uint64_t>() >= seq);
      }};
}

std::size_t count_of_type(const std::vector<json::object>& lines, std::string_view type) {
  std::size_t n = 0;
  for (const json::object& line : lines) n += line.at("type") == json::string_view(type);
  return n;
}

TEST_CASE("a tap that falls behind gets lagged markers covering every broadcast it missed") {
  Workspace ws;
  DaemonProcess daemon(ws, {"--queue-max-events", "16"});
  Tap slow = connect_tap(daemon, {{"messages", "broadcast"}});
  EventReader sender = daemon.connect();

  std::uint64_t first = sent_seq(broadcast(sender, bulky_broadcast(0)));
  std::uint64_t last = first;
  for (int n = 1; n < 500; ++n) last = sent_seq(broadcast(sender, bulky_broadcast(n)));

  std::vector<json::object> lines = slow.reader.read_until(delivered_or_lagged(last));
  CHECK(count_of_type(lines, "lagged") >= 1);
  for (const json::object& line : lines) CHECK(line.at("sub") == slow.sub);
  check_gapless(lines, first, last);
}

TEST_CASE("an agent whose mailbox overflows with broadcasts gets its lagged marker in seq order") {
  Workspace ws;
  // The mailbox is large next to what one read frees in the socket, so that
  // coordd drains it in several steps as the agent reads.
  constexpr std::uint64_t kMailbox = 400;
  DaemonProcess daemon(
      ws, {"--queue-max-events", "16", "--mailbox-max-messages", std::to_string(kMailbox)});
  EventReader w1 = connect_as(daemon, "w1");
  EventReader sender = daemon.connect();
  std::uint64_t first = sent_seq(broadcast(sender, bulky_broadcast(0)));
  for (int n = 1; n < 700; ++n) sent_seq(broadcast(sender, bulky_broadcast(n)));

  // Read one line at a time until coordd has moved part of the full mailbox
  // toward the socket: the mailbox then has room but is not yet empty.
  std::vector<json::object> lines;
  std::uint64_t waiting = kMailbox;
  while (waiting == kMailbox) {
    lines.push_back(next_line(w1));
    json::object status = sender.call({{"op", "status"}});
    waiting = status.at("agents").at("messages_waiting").to_number<std::uint64_t>();
  }
  CAPTURE(waiting);
  sent_seq(broadcast(sender, bulky_broadcast(700)));
  std::uint64_t last = sent_seq(broadcast(sender, bulky_broadcast(701)));

  std::vector<json::object> rest = w1.read_until(delivered_or_lagged(last));
  lines.insert(lines.end(), rest.begin(), rest.end());
  CHECK(count_of_type(lines, "lagged") >= 1);
  for (const json::object& line : lines) {
    if (line.at("type") == "lagged") CHECK(line.at("mailbox") == "w1");
  }
  check_gapless(lines, first, last);
}

}  // namespace
}  // namespace coordd::integration
