#include "daemon/server/outbound_queue.hpp"

#include <doctest/doctest.h>

#include <array>
#include <memory>
#include <string>

using namespace coordd;

namespace {

OutboundLine reply(std::size_t bytes) { return OutboundLine::owned(std::string(bytes, 'r')); }

std::string joined(const std::array<iovec, 16>& iov, std::size_t filled) {
  std::string out;
  for (std::size_t i = 0; i < filled; ++i)
    out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  return out;
}

OutboundLine event_line(std::string_view prefix, const std::shared_ptr<const std::string>& body) {
  return OutboundLine{prefix, body};
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

TEST_CASE("a line stays counted until all of its bytes are consumed") {
  OutboundQueue queue(2, 1000);
  queue.push(reply(10));
  queue.push(reply(20));

  queue.consume(9);
  CHECK(queue.count() == 2);
  CHECK_FALSE(queue.has_room(1));

  queue.consume(1);
  CHECK(queue.count() == 1);
  CHECK(queue.bytes() == 20);
  CHECK(queue.has_room(1));
}

TEST_CASE("gathering points at each line's head then its shared body, in push order") {
  OutboundQueue queue(10, 1000);
  auto body = std::make_shared<const std::string>("B}\n");
  queue.push(event_line("{1,", body));
  queue.push(OutboundLine::owned("{\"type\":\"pong\"}\n"));
  queue.push(event_line("{2,", body));

  std::array<iovec, 16> iov;
  std::size_t filled = queue.gather(iov.data(), iov.size(), 1000);

  CHECK(filled == 5);
  CHECK(joined(iov, filled) == "{1,B}\n{\"type\":\"pong\"}\n{2,B}\n");
  CHECK(iov[1].iov_base == body->data());  // the shared body itself, not a copy
}

TEST_CASE("after a partial write gathering resumes at the first unwritten byte") {
  OutboundQueue queue(10, 1000);
  auto body = std::make_shared<const std::string>("BODY}\n");
  queue.push(event_line("{1,", body));
  queue.push(event_line("{2,", body));

  queue.consume(5);  // "{1,BO"
  std::array<iovec, 16> iov;
  std::size_t filled = queue.gather(iov.data(), iov.size(), 1000);

  CHECK(joined(iov, filled) == "DY}\n{2,BODY}\n");
  CHECK(queue.count() == 2);
  queue.consume(4);
  CHECK(queue.count() == 1);
  queue.consume(10);
  CHECK(queue.empty());
  CHECK(queue.bytes() == 0);
}

TEST_CASE("gathering stops at its entry limit and once its byte limit is covered") {
  OutboundQueue queue(10, 1000);
  for (int i = 0; i < 3; ++i) queue.push(reply(40));
  std::array<iovec, 16> iov;

  CHECK(queue.gather(iov.data(), 2, 1000) == 2);
  CHECK(queue.gather(iov.data(), iov.size(), 50) == 2);
  CHECK(queue.gather(iov.data(), iov.size(), 10) == 1);  // always at least one
}

TEST_CASE("a queue wants more from pull producers only below a quarter of its limits") {
  OutboundQueue queue(8, 1000);
  queue.push(reply(10));
  CHECK(queue.wants_more());

  queue.push(reply(10));

  CHECK_FALSE(queue.wants_more());
}
