// Mailbox: one agent's waiting messages, bounded by count and bytes, and the
// lagged marker it owes for broadcasts it had no room for.
#include "daemon/bus/mailbox.hpp"

#include <doctest/doctest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

using namespace coordd;

namespace {

// A message whose serialized body is `bytes` long.
EventPtr message(std::uint64_t seq, std::size_t bytes = 100) {
  auto event = std::make_shared<Event>();
  event->seq = seq;
  event->is_message = true;
  event->to = "w1";
  event->body = std::make_shared<const std::string>(bytes, 'm');
  return event;
}

}  // namespace

TEST_CASE("a mailbox has room for as many messages as its count bound and no more") {
  Mailbox mailbox(3, 1 << 20);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    REQUIRE(mailbox.has_room(100));
    mailbox.push(message(seq));
  }

  CHECK_FALSE(mailbox.has_room(1));
  CHECK(mailbox.size() == 3);
}

TEST_CASE("a mailbox has room only while the bytes fit under its byte bound") {
  Mailbox mailbox(100, 1000);
  mailbox.push(message(1, 600));

  CHECK(mailbox.has_room(400));
  CHECK_FALSE(mailbox.has_room(401));
  CHECK(mailbox.bytes() == 600);
}

TEST_CASE("popping a message frees its count and its bytes") {
  Mailbox mailbox(2, 1000);
  mailbox.push(message(1, 300));
  mailbox.push(message(2, 500));
  REQUIRE_FALSE(mailbox.has_room(1));

  mailbox.pop();

  CHECK(mailbox.size() == 1);
  CHECK(mailbox.bytes() == 500);
  CHECK(mailbox.has_room(500));
  CHECK_FALSE(mailbox.has_room(501));
}

TEST_CASE("messages leave a mailbox in the order they arrived") {
  Mailbox mailbox(10, 1 << 20);
  for (std::uint64_t seq : {4, 7, 9}) mailbox.push(message(seq));

  std::vector<std::uint64_t> out;
  while (!mailbox.empty()) {
    out.push_back(mailbox.front()->seq);
    mailbox.pop();
  }

  CHECK(out == std::vector<std::uint64_t>{4, 7, 9});
  CHECK(mailbox.bytes() == 0);
}

TEST_CASE("a mailbox that dropped nothing owes no lagged marker") {
  Mailbox mailbox(1, 1000);
  mailbox.push(message(1));

  CHECK_FALSE(mailbox.lag_pending());
}

TEST_CASE("dropped broadcasts are owed as one lagged marker naming the mailbox and the seq range") {
  Mailbox mailbox(1, 1000);
  mailbox.note_dropped(5);
  mailbox.note_dropped(6);
  mailbox.note_dropped(9);

  REQUIRE(mailbox.lag_pending());
  std::string line = mailbox.take_lag_line("w1");

  CHECK(line ==
        "{\"type\":\"lagged\",\"mailbox\":\"w1\",\"from_seq\":5,\"to_seq\":9,\"dropped\":3}\n");
  CHECK(boost::json::parse(line).is_object());
}

TEST_CASE("taking the lagged marker clears it, and the next drop starts a new range") {
  Mailbox mailbox(1, 1000);
  mailbox.note_dropped(5);
  mailbox.note_dropped(6);
  mailbox.take_lag_line("w1");

  CHECK_FALSE(mailbox.lag_pending());
  mailbox.note_dropped(12);

  CHECK(mailbox.take_lag_line("w1") ==
        "{\"type\":\"lagged\",\"mailbox\":\"w1\",\"from_seq\":12,\"to_seq\":12,\"dropped\":1}\n");
}

namespace {

// Records which ids were settled.
struct SettleLog final : MessageStore {
  std::vector<StoredMessage> take_recovered() override { return {}; }
  Result<std::uint64_t> record(const StoredMessage&) override { return std::uint64_t(0); }
  void settle(std::uint64_t id) override { settled.push_back(id); }
  boost::json::object describe() const override { return {}; }
  std::vector<std::uint64_t> settled;
};

// A message body as the wire writes it: ends with "}\n".
EventPtr wire_message(std::uint64_t seq) {
  auto event = std::make_shared<Event>();
  event->seq = seq;
  event->is_message = true;
  event->to = "w1";
  event->body = std::make_shared<const std::string>("\"seq\":" + std::to_string(seq) + "}\n");
  return event;
}

}  // namespace

TEST_CASE(
    "a message handed to an acking connection keeps its room and stays unsettled until acked") {
  MailboxBudget budget;
  SettleLog log;
  Mailbox mailbox(2, 1000, &budget, &log);
  mailbox.push(wire_message(5), 50);
  mailbox.push(wire_message(6), 60);
  mailbox.hand_over();
  mailbox.hand_over();
  CHECK(mailbox.empty());
  CHECK(mailbox.unacked() == 2);
  CHECK_FALSE(mailbox.has_room(1));  // the count bound holds them still
  CHECK(log.settled.empty());

  CHECK(mailbox.ack(6, false) == 1);  // one, not those before it
  CHECK(log.settled == std::vector<std::uint64_t>{60});
  CHECK(mailbox.ack(6, false) == 0);
  CHECK(mailbox.ack(5, true) == 1);
  CHECK(log.settled == std::vector<std::uint64_t>{60, 50});
  CHECK(mailbox.bytes() == 0);
  CHECK(budget.bytes == 0);
}

TEST_CASE(
    "unacked messages go back to the front in order, marked redelivered, and their bytes with "
    "them") {
  MailboxBudget budget;
  Mailbox mailbox(10, 1000, &budget);
  mailbox.push(wire_message(1));
  mailbox.push(wire_message(2));
  mailbox.push(wire_message(3));
  mailbox.hand_over();
  mailbox.hand_over();

  mailbox.requeue_unacked();

  REQUIRE(mailbox.size() == 3);
  CHECK(mailbox.front()->seq == 1);
  CHECK(mailbox.front()->redelivered);
  CHECK(*mailbox.front()->body == "\"seq\":1,\"redelivered\":true}\n");
  CHECK(budget.bytes == mailbox.bytes());
  mailbox.hand_over();
  mailbox.requeue_unacked();  // marked once, not twice
  CHECK(*mailbox.front()->body == "\"seq\":1,\"redelivered\":true}\n");
  mailbox.pop();
  CHECK(mailbox.front()->seq == 2);
  CHECK(mailbox.front()->redelivered);
  mailbox.pop();
  CHECK(mailbox.front()->seq == 3);
  CHECK_FALSE(mailbox.front()->redelivered);
  mailbox.pop();
  CHECK(budget.bytes == 0);
}
