#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "daemon/outbound_queue.hpp"

using namespace coordd;

namespace {

OutboundLine reply(std::size_t bytes) { return OutboundLine::owned(std::string(bytes, 'r')); }

OutboundLine event_line(std::string prefix, const std::shared_ptr<const std::string>& body) {
  return OutboundLine{std::make_shared<const std::string>(std::move(prefix)), body};
}

}  // namespace

TEST_CASE("a queue with room for two lines has no room for a third") {
  OutboundQueue queue(2, 1000);
  CHECK(queue.has_room(10));
  queue.push(reply(10));
  CHECK(queue.has_room(10));
  CHECK_FALSE(queue.has_room(10, 2));
  queue.push(reply(10));

  CHECK_FALSE(queue.has_room(1));
  CHECK(queue.over_limit());
}

TEST_CASE("a queue has room only while the bytes fit under its byte limit") {
  OutboundQueue queue(100, 50);
  queue.push(reply(30));

  CHECK(queue.has_room(20));
  CHECK_FALSE(queue.has_room(21));
  CHECK_FALSE(queue.over_limit());
  queue.push(reply(20));
  CHECK(queue.over_limit());
}

TEST_CASE("a line counts its private head and its shared body") {
  OutboundQueue queue(100, 1000);
  auto body = std::make_shared<const std::string>("\"seq\":1}\n");

  queue.push(event_line("{\"sub\":1,", body));
  queue.push(event_line("{\"sub\":2,", body));

  CHECK(queue.count() == 2);
  CHECK(queue.bytes() == 2 * (9 + body->size()));
}

TEST_CASE("lines in flight stay counted until finish_batch") {
  OutboundQueue queue(2, 1000);
  queue.push(reply(10));
  queue.push(reply(20));

  std::string batch;
  CHECK(queue.take_batch(batch, 1) == 1);
  CHECK(batch.size() == 10);
  CHECK(queue.count() == 2);
  CHECK_FALSE(queue.has_room(1));
  CHECK(queue.has_waiting());

  queue.finish_batch();
  CHECK(queue.count() == 1);
  CHECK(queue.bytes() == 20);
  CHECK(queue.has_room(1));
}

TEST_CASE("a batch holds each line's head then its shared body, in push order") {
  OutboundQueue queue(10, 1000);
  auto body = std::make_shared<const std::string>("B}\n");
  queue.push(event_line("{1,", body));
  queue.push(OutboundLine::owned("{\"type\":\"pong\"}\n"));
  queue.push(event_line("{2,", body));

  std::string batch;
  CHECK(queue.take_batch(batch, 1000) == 3);

  CHECK(batch == "{1,B}\n{\"type\":\"pong\"}\n{2,B}\n");
  CHECK_FALSE(queue.has_waiting());
  queue.finish_batch();
  CHECK(queue.empty());
  CHECK(queue.bytes() == 0);
}

TEST_CASE("a batch stops before the line that would pass its byte limit") {
  OutboundQueue queue(10, 1000);
  queue.push(reply(40));
  queue.push(reply(40));
  queue.push(reply(40));

  std::string batch;
  CHECK(queue.take_batch(batch, 100) == 2);

  CHECK(batch.size() == 80);
  CHECK(queue.has_waiting());
}

TEST_CASE("a line longer than the batch limit still goes, alone") {
  OutboundQueue queue(10, 1000);
  queue.push(reply(300));
  queue.push(reply(10));

  std::string batch;
  CHECK(queue.take_batch(batch, 100) == 1);

  CHECK(batch.size() == 300);
}

TEST_CASE("a queue wants more from pull producers only below a quarter of its limits") {
  OutboundQueue queue(8, 1000);
  queue.push(reply(10));
  CHECK(queue.wants_more());

  queue.push(reply(10));

  CHECK_FALSE(queue.wants_more());
}
