#include "proto/ndjson_framer.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace coordd;
using Status = NdjsonFramer::Status;

namespace {

// Every frame currently available, stopping at the first non-frame status.
std::vector<std::string> drain(NdjsonFramer& framer, Status& stopped_on) {
  std::vector<std::string> frames;
  std::string_view frame;
  while ((stopped_on = framer.next(frame)) == Status::kFrame) frames.emplace_back(frame);
  return frames;
}

}  // namespace

TEST_CASE("a line split across several feeds becomes one frame once its newline arrives") {
  NdjsonFramer framer(1024);
  Status status{};
  framer.feed(R"({"op":)");
  CHECK(drain(framer, status).empty());
  CHECK(status == Status::kNeedMore);
  framer.feed(R"("ping"})");
  CHECK(drain(framer, status).empty());
  framer.feed("\n");
  CHECK(drain(framer, status) == std::vector<std::string>{R"({"op":"ping"})"});
  CHECK(status == Status::kNeedMore);
  CHECK(framer.buffered() == 0);
}

TEST_CASE("several lines in one feed come out as several frames, keeping the partial tail") {
  NdjsonFramer framer(1024);
  Status status{};
  framer.feed("one\ntwo\nthr");
  CHECK(drain(framer, status) == std::vector<std::string>{"one", "two"});
  CHECK(status == Status::kNeedMore);
  CHECK(framer.buffered() == 3);
  framer.feed("ee\n");
  CHECK(drain(framer, status) == std::vector<std::string>{"three"});
}

TEST_CASE("a CRLF line ending yields the frame without its carriage return") {
  NdjsonFramer framer(1024);
  Status status{};
  framer.feed("{\"op\":\"ping\"}\r\nnext\r\n");
  CHECK(drain(framer, status) == std::vector<std::string>{R"({"op":"ping"})", "next"});
}

TEST_CASE("empty lines come out as empty frames rather than being merged with the next line") {
  NdjsonFramer framer(1024);
  Status status{};
  framer.feed("\n\r\nlast\n");
  CHECK(drain(framer, status) == std::vector<std::string>{"", "", "last"});
}

TEST_CASE("a line of exactly the limit is a frame") {
  NdjsonFramer framer(8);
  Status status{};
  framer.feed("12345678\n");
  CHECK(drain(framer, status) == std::vector<std::string>{"12345678"});
  CHECK(status == Status::kNeedMore);
}

TEST_CASE("an oversize line is refused before its newline has arrived") {
  NdjsonFramer framer(8);
  std::string_view frame;
  framer.feed("12345678");
  CHECK(framer.next(frame) == Status::kNeedMore);
  framer.feed("9");
  CHECK(framer.next(frame) == Status::kTooLarge);
}

TEST_CASE("an oversize line that arrives complete with its newline is refused") {
  NdjsonFramer framer(8);
  Status status{};
  framer.feed("ok\n123456789\nafter\n");
  CHECK(drain(framer, status) == std::vector<std::string>{"ok"});
  CHECK(status == Status::kTooLarge);
}

TEST_CASE("frames keep their bytes when earlier consumed lines are compacted away") {
  NdjsonFramer framer(64);
  Status status{};
  std::vector<std::string> all;
  for (int i = 0; i < 50; ++i) {
    framer.feed("line-" + std::to_string(i) + "\nli");
    framer.feed("ne-tail-" + std::to_string(i) + "\n");
    for (std::string& frame : drain(framer, status)) all.push_back(frame);
  }
  REQUIRE(all.size() == 100);
  CHECK(all[98] == "line-49");
  CHECK(all[99] == "line-tail-49");
  CHECK(framer.buffered() == 0);
}
