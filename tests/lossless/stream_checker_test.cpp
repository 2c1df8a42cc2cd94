// The stream checker on hand-made streams: it passes a good one and catches
// each way a stream can break a guarantee, so a churn test that passes means
// something.
#include "tests/lossless/stream_checker.hpp"

#include <doctest/doctest.h>

#include <initializer_list>

#include "tests/integration/daemon_fixture.hpp"  // prints vectors of strings

namespace coordd::lossless {
namespace {

json::object subscribed(std::uint64_t sub, std::uint64_t seq) {
  return {{"type", "subscribed"}, {"sub", sub}, {"seq", seq}};
}

json::object refused_resume(std::uint64_t sub, std::uint64_t seq, std::string_view reason) {
  return {
      {"type", "subscribed"}, {"sub", sub}, {"seq", seq}, {"resumed", false}, {"reason", reason}};
}

json::object resumed(std::uint64_t sub, std::uint64_t seq) {
  return {{"type", "subscribed"}, {"sub", sub}, {"seq", seq}, {"resumed", true}};
}

json::object task(std::string_view id, int revision) {
  return {{"task_id", id}, {"revision", revision}};
}

json::object event(std::uint64_t seq, std::string_view type, std::string_view id, int revision,
                   std::uint64_t sub = 1) {
  return {{"type", "event"},           {"sub", sub},     {"seq", seq},
          {"event_type", type},        {"kind", "task"}, {"id", id},
          {"data", task(id, revision)}};
}

json::object snapshot_end(std::uint64_t seq, bool resync = false, std::uint64_t sub = 1) {
  json::object line{{"type", "snapshot_end"}, {"sub", sub}, {"seq", seq}};
  if (resync) line["resync"] = true;
  return line;
}

json::object synced(std::uint64_t seq) { return {{"type", "synced"}, {"seq", seq}}; }

json::object lagged(std::uint64_t from, std::uint64_t to, std::uint64_t sub = 1) {
  return {{"type", "lagged"},
          {"sub", sub},
          {"from_seq", from},
          {"to_seq", to},
          {"dropped", to - from + 1}};
}

RecordsByKind tasks_on_disk(std::initializer_list<std::pair<std::string_view, int>> tasks) {
  RecordsByKind disk;
  for (auto [id, revision] : tasks) disk["tasks"][std::string(id)] = task(id, revision);
  return disk;
}

std::vector<std::string> verify(std::initializer_list<json::object> stream,
                                const RecordsByKind& disk) {
  StreamChecker checker;
  for (const json::object& line : stream) checker.receive(line);
  return checker.verify(disk);
}

bool mentions(const std::vector<std::string>& problems, std::string_view words) {
  for (const std::string& problem : problems) {
    if (problem.find(words) != std::string::npos) return true;
  }
  return false;
}

// t1 and t2 exist before the subscription; t3 is added, t1 modified, t2
// removed, then a sync vouches for all of it.
const RecordsByKind kDiskAfterGoodStream = tasks_on_disk({{"t1", 2}, {"t3", 1}});

TEST_CASE("a snapshot followed by every delta and a bookmark passes the checker") {
  auto problems =
      verify({subscribed(1, 5), event(2, "snapshot", "t1", 1), event(5, "snapshot", "t2", 1),
              snapshot_end(5), event(6, "added", "t3", 1), event(7, "modified", "t1", 2),
              event(8, "removed", "t2", 1), event(9, "expired", "t1", 2), synced(9)},
             kDiskAfterGoodStream);

  CHECK(problems == std::vector<std::string>{});
}

TEST_CASE("a seq received twice is reported as a duplicate") {
  auto problems =
      verify({subscribed(1, 5), event(2, "snapshot", "t1", 1), event(5, "snapshot", "t2", 1),
              snapshot_end(5), event(6, "added", "t3", 1), event(7, "modified", "t1", 2),
              event(7, "modified", "t1", 2), event(8, "removed", "t2", 1), synced(8)},
             kDiskAfterGoodStream);

  INFO(problems);
  CHECK(mentions(problems, "seq 7 was received twice"));
}

TEST_CASE("events out of seq order are reported, even when the final state matches") {
  auto problems =
      verify({subscribed(1, 5), event(2, "snapshot", "t1", 1), event(5, "snapshot", "t2", 1),
              snapshot_end(5), event(7, "modified", "t1", 2), event(6, "added", "t3", 1),
              event(8, "removed", "t2", 1), synced(8)},
             kDiskAfterGoodStream);

  INFO(problems);
  CHECK(mentions(problems, "at seq 6 arrived after seq 7: out of order"));
}

TEST_CASE("a record missing from the stream without a lag marker is reported against the disk") {
  auto problems = verify(
      {subscribed(1, 5), event(2, "snapshot", "t1", 1), event(5, "snapshot", "t2", 1),
       snapshot_end(5), event(7, "modified", "t1", 2), event(8, "removed", "t2", 1), synced(8)},
      kDiskAfterGoodStream);

  INFO(problems);
  CHECK(mentions(problems, "tasks/t3 is on disk but missing here"));
}

TEST_CASE("a missed modification is reported with the field that differs from the disk") {
  auto problems = verify({subscribed(1, 0), snapshot_end(0), event(1, "added", "t1", 1),
                          event(2, "added", "t3", 1), synced(3)},
                         tasks_on_disk({{"t1", 2}, {"t3", 1}}));

  INFO(problems);
  CHECK(mentions(problems, "tasks/t1 differs: revision: 1 here, 2 on disk"));
}

TEST_CASE("a missed removal shows up as an added for a record still held") {
  auto problems = verify({subscribed(1, 0), snapshot_end(0), event(1, "added", "t1", 1),
                          event(3, "added", "t1", 2), synced(3)},
                         tasks_on_disk({{"t1", 2}}));

  INFO(problems);
  CHECK(mentions(problems, "which the subscriber already holds"));
}

TEST_CASE("a lag marker that is never repaired by a resume fails the stream") {
  auto problems =
      verify({subscribed(1, 5), event(2, "snapshot", "t1", 1), event(5, "snapshot", "t2", 1),
              snapshot_end(5), lagged(6, 7), event(8, "removed", "t2", 1), synced(8)},
             kDiskAfterGoodStream);

  INFO(problems);
  CHECK(mentions(problems, "lagged over seq 6..7 and never resumed or resynced"));
}

TEST_CASE("a lag marker repaired by resuming from the seq before the gap passes") {
  StreamChecker checker;
  for (const json::object& line : {subscribed(1, 5), event(2, "snapshot", "t1", 1),
                                   event(5, "snapshot", "t2", 1), snapshot_end(5), lagged(6, 7)}) {
    checker.receive(line);
  }
  REQUIRE(checker.resume_point() == 5);

  for (const json::object& line :
       {resumed(1, 8), event(6, "added", "t3", 1), event(7, "modified", "t1", 2),
        event(8, "removed", "t2", 1), synced(8)}) {
    checker.receive(line);
  }

  CHECK(checker.verify(kDiskAfterGoodStream) == std::vector<std::string>{});
  CHECK(checker.lag_markers() == 1);
  CHECK(checker.resumes() == 1);
}

TEST_CASE("a lag marker covering a seq already delivered is reported") {
  auto problems = verify({subscribed(1, 0), snapshot_end(0), event(1, "added", "t1", 1),
                          event(2, "added", "t3", 1), lagged(2, 3)},
                         tasks_on_disk({{"t1", 1}, {"t3", 1}}));

  INFO(problems);
  CHECK(mentions(problems, "covers seq 2..3, but seq 2 was already delivered"));
}

TEST_CASE("a bookmark below an event it follows is reported") {
  auto problems = verify({subscribed(1, 0), snapshot_end(0), event(1, "added", "t1", 1),
                          event(3, "added", "t3", 1), synced(2)},
                         tasks_on_disk({{"t1", 1}, {"t3", 1}}));

  INFO(problems);
  CHECK(mentions(problems, "synced seq 2 arrived after seq 3"));
}

TEST_CASE("a refused resume rebuilds the state from its snapshot, which must say resync") {
  StreamChecker checker;
  for (const json::object& line :
       {subscribed(1, 0), snapshot_end(0), event(1, "added", "t9", 1), synced(1)}) {
    checker.receive(line);
  }

  for (const json::object& line :
       {refused_resume(1, 3, "epoch_changed"), event(3, "snapshot", "t1", 2),
        event(2, "snapshot", "t3", 1), snapshot_end(3)}) {
    checker.receive(line);
  }
  auto problems = checker.verify(tasks_on_disk({{"t1", 2}, {"t3", 1}}));

  INFO(problems);
  CHECK(checker.resyncs() == 1);
  CHECK(mentions(problems, "without resync:true"));
  CHECK(mentions(problems, "at seq 2 arrived after seq 3"));
  CHECK(!mentions(problems, "t9"));  // the old state was thrown away
}

}  // namespace
}  // namespace coordd::lossless
