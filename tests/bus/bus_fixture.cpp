#include "tests/bus/bus_fixture.hpp"

#include <doctest/doctest.h>

#include "tests/support/poll_until.hpp"

namespace coordd::integration {
namespace {

std::string text(const json::value& value) { return json::serialize(value); }

}  // namespace

json::object hello_as(EventReader& reader, std::string_view agent, bool takeover) {
  json::object hello{{"op", "hello"}, {"proto", 1}, {"agent", agent}};
  if (takeover) hello["takeover"] = true;
  return reader.call(std::move(hello));
}

EventReader connect_as(const DaemonProcess& daemon, std::string_view agent) {
  EventReader reader = daemon.connect();
  json::object reply = hello_as(reader, agent);
  REQUIRE_MESSAGE(reply.at("type") == "hello", "hello as " << agent << ": " << text(reply));
  return reader;
}

Tap connect_tap(const DaemonProcess& daemon, json::object filters) {
  EventReader reader = daemon.connect();
  filters["events"] = false;
  std::uint64_t sub = reader.subscribe(std::move(filters)).sub;
  return Tap{std::move(reader), sub};
}

json::object context_message(std::string_view content) {
  return json::object{{"kind", "additional_context"}, {"content", content}};
}

json::object send(EventReader& sender, std::string_view to, json::object message) {
  return sender.call({{"op", "send"}, {"to", to}, {"message", std::move(message)}});
}

json::object broadcast(EventReader& sender, json::object message) {
  return sender.call({{"op", "broadcast"}, {"message", std::move(message)}});
}

std::uint64_t sent_seq(const json::object& reply) {
  REQUIRE_MESSAGE(reply.at("type") == "sent", "expected a sent reply, got " << text(reply));
  return reply.at("seq").to_number<std::uint64_t>();
}

std::string error_code(const json::object& reply) {
  REQUIRE_MESSAGE(reply.at("type") == "error", "expected an error reply, got " << text(reply));
  return std::string(reply.at("code").as_string());
}

std::string error_text(const json::object& reply) {
  error_code(reply);
  return std::string(reply.at("message").as_string());
}

json::object next_line(EventReader& reader, std::chrono::milliseconds timeout) {
  return reader
      .read_until(LinePattern{"any line", [](const json::object&) { return true; }}, timeout)
      .back();
}

LinePattern message_with_seq(std::uint64_t seq) {
  return LinePattern{"the message with seq " + std::to_string(seq),
                     [seq](const json::object& line) {
                       return line.at("type") == "message" && line.at("seq") == seq;
                     }};
}

std::uint64_t seq_of(const json::object& line) {
  REQUIRE_MESSAGE(line.contains("seq"), "a line without seq: " << text(line));
  return line.at("seq").to_number<std::uint64_t>();
}

std::string content_of(const json::object& line) {
  REQUIRE_MESSAGE(line.at("type") == "message", "expected a message line, got " << text(line));
  return std::string(line.at("message").at("content").as_string());
}

void check_gapless(const std::vector<json::object>& lines, std::uint64_t first,
                   std::uint64_t last) {
  std::uint64_t next = first;
  for (const json::object& line : lines) {
    std::string received = text(line).substr(0, 120);  // enough to see type and seq
    CAPTURE(received);
    if (line.at("type") == "lagged") {
      std::uint64_t from = line.at("from_seq").to_number<std::uint64_t>();
      std::uint64_t to = line.at("to_seq").to_number<std::uint64_t>();
      REQUIRE_MESSAGE(from == next, "expected seq " << next << " next, delivered or lagged; got "
                                                    << "a lagged marker from seq " << from);
      CHECK(line.at("dropped") == to - from + 1);
      next = to + 1;
    } else if (line.at("type") == "message") {
      std::uint64_t seq = seq_of(line);
      REQUIRE_MESSAGE(seq == next, "expected seq " << next
                                                   << " next, delivered or lagged; got message seq "
                                                   << seq);
      ++next;
    }
  }
  CHECK_MESSAGE(next > last, "seqs " << next << " to " << last << " never arrived");
}

void wait_for_connected_agents(EventReader& reader, std::size_t count) {
  json::value connected;
  bool settled = support::poll_until(kLineTimeout, [&] {
    connected = reader.call({{"op", "status"}}).at("agents").at("connected");
    return connected == count;
  });
  if (!settled) {
    FAIL("waited 5 s for " << count << " connected agent(s); status says " << text(connected));
  }
}

void sync(EventReader& reader) {
  json::object reply = reader.call({{"op", "sync"}});
  REQUIRE_MESSAGE(reply.at("type") == "synced", "sync: " << text(reply));
}

}  // namespace coordd::integration
