// watch_options: Muse's validation, message for message.
#include "client/watch_options.hpp"

#include <doctest/doctest.h>

#include <functional>

using coordd::validate_watch_args;
using coordd::WatchArgs;

namespace {

// Fresh flags changed by `set`, validated. (Built in one place: GCC 12 warns
// falsely about optional<string> members of a WatchArgs local to a test.)
coordd::ValidatedWatch validated(const std::function<void(WatchArgs&)>& set) {
  WatchArgs args;
  set(args);
  return validate_watch_args(args);
}

// The error message ("" if valid).
std::string error_of(const std::function<void(WatchArgs&)>& set) { return validated(set).error; }

}  // namespace

TEST_CASE("each bad flag value is refused with Muse's message, numbers as Python prints them") {
  CHECK(error_of([](WatchArgs& a) { a.run_id = std::string(300, 'x'); }) ==
        "--run-id is too long (300 chars; max 256)");
  CHECK(error_of([](WatchArgs& a) { a.poll_interval = "0"; }) ==
        "--poll-interval must be in [0.01, 3600.0], got 0.0");
  CHECK(error_of([](WatchArgs& a) { a.poll_interval = "1e4"; }) ==
        "--poll-interval must be in [0.01, 3600.0], got 10000.0");
  CHECK(error_of([](WatchArgs& a) { a.timeout = "-1"; }) == "--timeout must be >= 0, got -1.0");
  CHECK(error_of([](WatchArgs& a) { a.max_events = "0"; }) == "--max-events must be >= 1, got 0");
  CHECK(error_of([](WatchArgs& a) { a.max_events = "-07"; }) ==
        "--max-events must be >= 1, got -7");
}

TEST_CASE("a run id counts characters, not bytes, against its limit of 256") {
  std::string id;
  for (int i = 0; i < 256; ++i) id += "\xc3\xa9";  // 256 characters, 512 bytes
  CHECK(error_of([&](WatchArgs& a) { a.run_id = id; }).empty());
  CHECK(error_of([&](WatchArgs& a) { a.run_id = id + "x"; }) ==
        "--run-id is too long (257 chars; max 256)");
}

TEST_CASE("malformed numbers and unknown kinds are bad arguments too") {
  CHECK(error_of([](WatchArgs& a) { a.timeout = "soon"; }) ==
        "argument --timeout: invalid float value: 'soon'");
  CHECK(error_of([](WatchArgs& a) { a.max_events = "1.5"; }) ==
        "argument --max-events: invalid int value: '1.5'");
  CHECK(error_of([](WatchArgs& a) { a.kind = "lease"; })
            .starts_with("--kind must be one of claim, dependency, heartbeat, intent, release, "
                         "reservation, task"));
}

TEST_CASE("--timeout 0 means --once, and kinds are accepted singular or plural") {
  coordd::ValidatedWatch valid = validated([](WatchArgs& a) {
    a.timeout = "0";
    a.kind = "reservations";
  });
  REQUIRE(valid.error.empty());
  CHECK(valid.options.once);
  CHECK_FALSE(valid.options.timeout.has_value());
  CHECK(valid.options.kind == coordd::Kind::kReservation);
}

TEST_CASE("an empty --run-id or --branch filters nothing, as in Muse") {
  coordd::ValidatedWatch valid = validated([](WatchArgs& a) {
    a.run_id = "";
    a.branch = "";
  });
  CHECK_FALSE(valid.options.run_id.has_value());
  CHECK_FALSE(valid.options.branch.has_value());
}

TEST_CASE("JSON error output is chosen by --json or by --format json") {
  WatchArgs plain;
  CHECK_FALSE(coordd::wants_json(plain));
  WatchArgs format_json;
  format_json.format = "json";
  CHECK(coordd::wants_json(format_json));
  WatchArgs json_flag;
  json_flag.json = true;
  CHECK(coordd::wants_json(json_flag));
}
