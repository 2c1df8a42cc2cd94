// LogThrottle, on the FakeClock: a warning a client can repeat at will is
// logged once, then at most once per interval with a count of the rest.
#include "daemon/bus/log_throttle.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "tests/unit/fake_clock.hpp"

using namespace coordd;
using namespace std::chrono_literals;

namespace {

struct Throttled {
  boost::asio::io_context io;
  testing::FakeClock clock;
  std::vector<std::string> logged;
  LogThrottle throttle{clock, io.get_executor(), 10s,
                       [this](const std::string& line) { logged.push_back(line); }};

  void advance(std::chrono::microseconds by) {
    clock.advance(by);
    io.restart();
    io.poll();
  }
};

}  // namespace

TEST_CASE("the first warning is logged at once, word for word") {
  Throttled t;

  t.throttle.warn("refused a client with uid 7");

  CHECK(t.logged == std::vector<std::string>{"refused a client with uid 7"});
}

TEST_CASE("500 warnings in one interval make one line, then one saying how many more there were") {
  Throttled t;
  for (int i = 1; i <= 500; ++i) t.throttle.warn("refused uid " + std::to_string(i));
  t.advance(9'999ms);
  REQUIRE(t.logged.size() == 1);

  t.advance(1ms);

  CHECK(t.logged ==
        std::vector<std::string>{"refused uid 1", "refused uid 500 (499 more in the last 10 s)"});
  CHECK(t.throttle.suppressed() == 499);
}

TEST_CASE("a steady stream of warnings is logged once per interval, never more") {
  Throttled t;
  for (int ms = 0; ms < 60'000; ms += 100) {
    t.throttle.warn("accept failed");
    t.advance(100ms);
  }

  REQUIRE(t.logged.size() == 7);  // the first, then one summary per 10 s
  CHECK(t.logged[1] == "accept failed (99 more in the last 10 s)");
  CHECK(t.logged[6] == "accept failed (100 more in the last 10 s)");
}

TEST_CASE("after a quiet interval the next warning is logged at once again") {
  Throttled t;
  t.throttle.warn("first");
  t.advance(10s);  // nothing counted: the interval ends quietly
  REQUIRE(t.logged.size() == 1);

  t.throttle.warn("second");

  CHECK(t.logged == std::vector<std::string>{"first", "second"});
}

TEST_CASE("warnings still counted when the throttle goes away are reported, not lost") {
  boost::asio::io_context io;
  testing::FakeClock clock;
  std::vector<std::string> logged;
  auto throttle = std::make_unique<LogThrottle>(
      clock, io.get_executor(), 10s, [&](const std::string& line) { logged.push_back(line); });
  for (int i = 1; i <= 3; ++i) throttle->warn("slow consumer " + std::to_string(i));

  throttle.reset();

  CHECK(logged ==
        std::vector<std::string>{"slow consumer 1", "slow consumer 3 (2 more in the last 10 s)"});
}
