// EngineFixture: an Engine over a FakeFileSystem holding the root "/repo", a
// FakeClock at 2026-03-30 15:00 UTC and a RecordingSink, with helpers that
// change the fake disk and report the change as the watcher would.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <vector>

#include "daemon/engine/engine.hpp"
#include "tests/unit/fake_clock.hpp"
#include "tests/unit/fake_file_system.hpp"
#include "tests/unit/recording_sink.hpp"

namespace coordd::testing {

inline WallTime at(const char* text) {
  auto time = parse_timestamp(text);
  REQUIRE(time);
  return *time;
}

// A string field of an event body.
inline std::string text(const boost::json::object& object, const char* key) {
  return std::string(object.at(key).as_string());
}

// For changes whose relative order the engine does not promise.
inline std::vector<std::string> sorted(std::vector<std::string> lines) {
  std::sort(lines.begin(), lines.end());
  return lines;
}

struct EngineFixture {
  FakeFileSystem fs;
  FakeClock clock{at("2026-03-30T15:00:00Z")};
  Engine engine{fs, clock, EngineOptions{}};
  RecordingSink sink;
  RootId root = engine.add_root("/repo");

  static std::string coordination() { return "/repo/.muse/coordination"; }
  static std::string dir(Kind kind) { return coordination() + "/" + std::string(kind_dir(kind)); }
  static std::string path(Kind kind, const std::string& name) { return dir(kind) + "/" + name; }

  // The initial scan, then live publishing, as the daemon starts.
  void start() {
    fs.make_dir(coordination());
    engine.on_rescan(root, RescanCause::kInitial);
    engine.set_sink(&sink);
  }
  void write(Kind kind, const std::string& name, const std::string& json) {
    fs.write(path(kind, name), json);
  }
  // What the watcher reports after a write or a delete.
  void write_and_notify(Kind kind, const std::string& name, const std::string& json) {
    write(kind, name, json);
    engine.on_file_changed(root, kind, name);
  }
  void delete_and_notify(Kind kind, const std::string& name) {
    fs.remove_file(path(kind, name));
    engine.on_file_gone(root, kind, name);
  }
  const Record* stored(Kind kind, const std::string& id) const {
    return engine.store().find(RecordRef{root, kind, id});
  }
  std::vector<std::string> ids_matching(const EventFilter& filter, bool active_only = false) const {
    std::vector<std::string> ids;
    for (const auto& [ref, record] : engine.matching(filter, active_only)) ids.push_back(ref.id);
    return ids;
  }
};

// An active reservation expiring at 15:10.
inline constexpr const char* kReservationR1 =
    R"({"reservation_id":"r1","run_id":"run-1","branch":"main","expires_at":"2026-03-30T15:10:00+00:00"})";

}  // namespace coordd::testing
