// Engine: rescans (initial, overflow, directory changes) report exactly the real changes.
#include <doctest/doctest.h>

#include "tests/unit/engine_fixture.hpp"

using namespace coordd;
using namespace coordd::testing;

TEST_CASE_FIXTURE(EngineFixture,
                  "the initial scan stores records but publishes nothing while no sink is set") {
  write(Kind::kReservation, "r1.json", kReservationR1);
  write(Kind::kTask, "t1.json", R"({"title":"write tests"})");

  engine.on_rescan(root, RescanCause::kInitial);
  engine.set_sink(&sink);

  CHECK(sink.events.empty());
  CHECK(engine.store().size() == 2);
  CHECK(engine.last_seq() == 2);
  CHECK(engine.counters().rescans == 1);
  CHECK(engine.counters().last_rescan_cause == RescanCause::kInitial);
  CHECK(engine.counters().events_emitted == 0);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "an overflow rescan emits exactly the changes made behind the watcher's back") {
  for (int i = 0; i < 50; ++i) write(Kind::kIntent, "same-" + std::to_string(i) + ".json", "{}");
  write(Kind::kIntent, "changes.json", R"({"v":1})");
  write(Kind::kIntent, "deleted.json", R"({"v":1})");
  start();
  write(Kind::kIntent, "same-7.json", "{}");  // touched: new mtime, same content
  write(Kind::kIntent, "changes.json", R"({"v":2})");
  write(Kind::kIntent, "created.json", R"({"v":1})");
  fs.remove_file(path(Kind::kIntent, "deleted.json"));

  engine.on_rescan(root, RescanCause::kOverflow);

  CHECK(sorted(sink.summary()) == std::vector<std::string>{"added intent/created",
                                                           "modified intent/changes",
                                                           "removed intent/deleted"});
  CHECK(engine.counters().overflows == 1);
  CHECK(engine.counters().rescans == 2);
  CHECK(engine.counters().last_rescan_cause == RescanCause::kOverflow);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "a removed kind directory reports its records removed and a re-created one "
                  "reports them added") {
  write(Kind::kClaim, "c1.json", R"({"claim_id":"c1"})");
  write(Kind::kClaim, "c2.json", R"({"claim_id":"c2"})");
  write(Kind::kTask, "t1.json", "{}");
  start();

  fs.remove_tree(dir(Kind::kClaim));
  engine.on_rescan(root, RescanCause::kDirectoryChanged);
  CHECK(sorted(sink.summary()) == std::vector<std::string>{"removed claim/c1", "removed claim/c2"});

  sink.events.clear();
  write(Kind::kClaim, "c1.json", R"({"claim_id":"c1"})");
  write(Kind::kClaim, "c2.json", R"({"claim_id":"c2"})");
  engine.on_rescan(root, RescanCause::kDirectoryChanged);
  CHECK(sorted(sink.summary()) == std::vector<std::string>{"added claim/c1", "added claim/c2"});
}

TEST_CASE_FIXTURE(EngineFixture, "a removed coordination directory reports every record removed") {
  write(Kind::kTask, "t1.json", "{}");
  write(Kind::kIntent, "i1.json", "{}");
  start();

  fs.remove_tree(coordination());
  engine.on_rescan(root, RescanCause::kDirectoryChanged);

  CHECK(sorted(sink.summary()) == std::vector<std::string>{"removed intent/i1", "removed task/t1"});
  CHECK(engine.store().size() == 0);
}

TEST_CASE_FIXTURE(
    EngineFixture,
    "a coordination directory replaced by a symlink is refused and its records count as absent") {
  write(Kind::kTask, "t1.json", "{}");
  start();

  fs.remove_tree(coordination());
  fs.make_symlink(coordination());
  engine.on_rescan(root, RescanCause::kDirectoryChanged);

  CHECK(sink.summary() == std::vector<std::string>{"removed task/t1"});
  CHECK(fs.reads().size() == 1);  // only the initial scan's read
}

TEST_CASE_FIXTURE(EngineFixture,
                  "a kind directory that cannot be listed keeps its records as they were") {
  write(Kind::kTask, "t1.json", "{}");
  start();

  fs.break_path(dir(Kind::kTask));
  engine.on_rescan(root, RescanCause::kOverflow);

  CHECK(sink.events.empty());
  CHECK(stored(Kind::kTask, "t1") != nullptr);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "a coordination directory that cannot be probed keeps its records as they were") {
  write(Kind::kTask, "t1.json", "{}");
  start();

  fs.break_path(coordination());
  engine.on_rescan(root, RescanCause::kOverflow);

  CHECK(sink.summary().empty());
  CHECK(stored(Kind::kTask, "t1") != nullptr);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "the same id under two roots is two records that a root filter tells apart") {
  RootId other = engine.add_root("/other");
  fs.write("/other/.muse/coordination/tasks/t1.json", R"({"where":"other"})");
  write(Kind::kTask, "t1.json", R"({"where":"repo"})");
  start();
  engine.on_rescan(other, RescanCause::kInitial);
  EventFilter only_other;
  only_other.root = other;

  auto records = engine.matching(only_other, false);

  REQUIRE(records.size() == 1);
  CHECK(records[0].first.root == other);
  CHECK(records[0].second->data_json() == R"({"where":"other"})");
  CHECK(engine.store().size() == 2);
  CHECK(text(sink.body(0), "root") == "/other");
}

TEST_CASE_FIXTURE(EngineFixture, "removing a root publishes removed for its records only") {
  RootId other = engine.add_root("/other");
  fs.write("/other/.muse/coordination/tasks/t1.json", "{}");
  write(Kind::kTask, "t1.json", "{}");
  start();
  engine.on_rescan(other, RescanCause::kInitial);
  sink.events.clear();

  engine.remove_root(other);

  CHECK(sink.summary() == std::vector<std::string>{"removed task/t1"});
  CHECK(text(sink.body(0), "root") == "/other");
  CHECK(stored(Kind::kTask, "t1") != nullptr);
  CHECK_FALSE(engine.find_root("/other").has_value());
}
