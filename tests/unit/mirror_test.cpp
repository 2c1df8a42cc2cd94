// --mirror on the fake disk: the engine takes a file carrying the mirror
// marker for a copy (never a record of this host, so never published back,
// and never an event), and Mirror writes, rewrites and removes the copies of
// other hosts' records without ever touching a local record.
#include "daemon/cluster/mirror.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "proto/cluster_value.hpp"
#include "tests/unit/engine_fixture.hpp"

namespace coordd::testing {
namespace {

constexpr const char* kTheirs =
    R"({"reservation_id":"b1","run_id":"run-b","branch":"main","expires_at":"2026-03-30T15:10:00+00:00"})";

struct MirrorFixture : EngineFixture {
  boost::asio::io_context io;
  LogThrottle log{clock, io.get_executor()};
  Mirror mirror{engine, fs, log};
  std::vector<RecordRef> local_changes;

  MirrorFixture() {
    engine.set_local_origin("a");
    engine.set_local_change_listener(
        [this](const RecordRef& ref, const Record*) { local_changes.push_back(ref); });
    start();
  }
  RootId from(const std::string& host) { return engine.origin_root(root, host); }
  // What the watcher reports once Mirror's write or removal lands.
  void notice(Kind kind, const std::string& id) {
    engine.on_file_changed(root, kind, id + ".json");
  }
  std::optional<std::string> on_disk(Kind kind, const std::string& id) {
    ReadResult read = fs.read_file(path(kind, id + ".json"), 1 << 20);
    if (read.status != ReadStatus::kOk) return std::nullopt;
    return read.bytes;
  }
};

TEST_CASE("the mirror file's bytes are the record with the marker first") {
  CHECK(encode_mirror_file(R"({"a":1,"b":[2]})", "host-b") ==
        R"({"coordd_mirror_of":"host-b","a":1,"b":[2]})");
  CHECK(encode_mirror_file("{}", "b") == R"({"coordd_mirror_of":"b"})");
  Result<ParsedRecord> parsed = parse_record(encode_mirror_file(R"({"run_id":"x"})", "b"));
  REQUIRE(parsed.ok());
  CHECK(parsed->mirror_of == "b");
  CHECK(parsed->run_id == "x");
  // Parsing what was written gives those bytes back: a copy compares by hash.
  CHECK(parsed->data_json == R"({"coordd_mirror_of":"b","run_id":"x"})");
  CHECK_FALSE(parse_record(R"({"coordd_mirror_of":7})")->mirror_of);
}

TEST_CASE_FIXTURE(MirrorFixture,
                  "a file with the mirror marker is a copy: no event, no record, no local change") {
  write_and_notify(Kind::kReservation, "b1.json", encode_mirror_file(kTheirs, "b"));
  CHECK(sink.events.empty());
  CHECK(stored(Kind::kReservation, "b1") == nullptr);
  CHECK(local_changes.empty());
  CHECK(engine.leases().next_deadline() == std::nullopt);
  RecordRef ref{root, Kind::kReservation, "b1"};
  REQUIRE(engine.mirror_file(ref) != nullptr);
  CHECK(engine.mirror_file(ref)->origin == "b");
  CHECK(engine.local_file(ref) == Engine::LocalFile::kMirror);

  SUBCASE("deleting the copy changes nothing clients see") {
    delete_and_notify(Kind::kReservation, "b1.json");
    CHECK(sink.events.empty());
    CHECK(engine.mirror_file(ref) == nullptr);
    CHECK(engine.local_file(ref) == Engine::LocalFile::kNone);
  }
  SUBCASE("a rescan that no longer lists it forgets it; one that does keeps it") {
    engine.on_rescan(root, RescanCause::kOverflow);
    CHECK(engine.mirror_file(ref) != nullptr);
    fs.remove_file(path(Kind::kReservation, "b1.json"));
    engine.on_rescan(root, RescanCause::kOverflow);
    CHECK(engine.mirror_file(ref) == nullptr);
    CHECK(sink.events.empty());
  }
  SUBCASE("a local record written over the copy is a record again") {
    write_and_notify(Kind::kReservation, "b1.json", kReservationR1);
    CHECK(sink.summary() == std::vector<std::string>{"added reservation/b1"});
    CHECK(engine.mirror_file(ref) == nullptr);
    CHECK(engine.local_file(ref) == Engine::LocalFile::kRecord);
  }
}

TEST_CASE("copies already on disk at the initial scan are known as copies") {
  EngineFixture f;
  f.write(Kind::kReservation, "b1.json", encode_mirror_file(kTheirs, "b"));
  f.write(Kind::kReservation, "r1.json", kReservationR1);
  f.start();
  CHECK(f.stored(Kind::kReservation, "b1") == nullptr);
  REQUIRE(f.engine.mirror_file(RecordRef{f.root, Kind::kReservation, "b1"}) != nullptr);
  CHECK(f.engine.mirror_file(RecordRef{f.root, Kind::kReservation, "b1"})->origin == "b");
  CHECK(f.stored(Kind::kReservation, "r1") != nullptr);
}

TEST_CASE_FIXTURE(MirrorFixture,
                  "a local record overwritten by a copy is removed, as a local change") {
  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);
  local_changes.clear();
  write_and_notify(Kind::kReservation, "r1.json", encode_mirror_file(kTheirs, "b"));
  CHECK(sink.summary() ==
        std::vector<std::string>{"added reservation/r1", "removed reservation/r1"});
  CHECK(local_changes.size() == 1);
}

TEST_CASE_FIXTURE(MirrorFixture, "a remote value carrying the marker is refused") {
  Status applied =
      engine.apply_remote(from("b"), Kind::kReservation, "b1", encode_mirror_file(kTheirs, "c"));
  CHECK_FALSE(applied.ok());
  CHECK(applied.message().find("mirror marker") != std::string::npos);
  CHECK(engine.store().find(RecordRef{from("b"), Kind::kReservation, "b1"}) == nullptr);
}

TEST_CASE_FIXTURE(MirrorFixture,
                  "Mirror writes a remote record's copy, rewrites it on change, removes it with "
                  "its origin's record") {
  REQUIRE(engine.apply_remote(from("b"), Kind::kReservation, "b1", kTheirs).ok());
  std::size_t events = sink.events.size();
  mirror.changed(root, "b", Kind::kReservation, "b1");
  CHECK(on_disk(Kind::kReservation, "b1") == encode_mirror_file(kTheirs, "b") + "\n");
  notice(Kind::kReservation, "b1");
  CHECK(sink.events.size() == events);  // the copy read back is no event
  CHECK(local_changes.empty());         // and nothing to publish
  CHECK(mirror.counters().written == 1);

  // Unchanged: not written again.
  mirror.changed(root, "b", Kind::kReservation, "b1");
  CHECK(mirror.counters().written == 1);

  std::string heartbeat =
      R"({"reservation_id":"b1","run_id":"run-b","branch":"main","expires_at":"2026-03-30T15:20:00+00:00"})";
  REQUIRE(engine.apply_remote(from("b"), Kind::kReservation, "b1", heartbeat).ok());
  mirror.changed(root, "b", Kind::kReservation, "b1");
  CHECK(on_disk(Kind::kReservation, "b1") == encode_mirror_file(heartbeat, "b") + "\n");
  CHECK(mirror.counters().written == 2);

  engine.remove_remote(from("b"), Kind::kReservation, "b1");
  mirror.changed(root, "b", Kind::kReservation, "b1");
  CHECK_FALSE(on_disk(Kind::kReservation, "b1"));
  CHECK(mirror.counters().removed == 1);
}

TEST_CASE_FIXTURE(MirrorFixture, "a local record is never overwritten by a copy, nor removed") {
  write_and_notify(Kind::kReservation, "r1.json", kReservationR1);
  REQUIRE(engine.apply_remote(from("b"), Kind::kReservation, "r1", kTheirs).ok());
  mirror.changed(root, "b", Kind::kReservation, "r1");
  CHECK(on_disk(Kind::kReservation, "r1") == std::string(kReservationR1));
  CHECK(mirror.counters().conflicts == 1);
  engine.remove_remote(from("b"), Kind::kReservation, "r1");
  mirror.changed(root, "b", Kind::kReservation, "r1");
  CHECK(on_disk(Kind::kReservation, "r1") == std::string(kReservationR1));

  SUBCASE("not even one the engine has not read yet") {
    REQUIRE(engine.apply_remote(from("b"), Kind::kIntent, "i1", "{}").ok());
    write(Kind::kIntent, "i1.json", R"({"mine":1})");  // not noticed yet
    mirror.changed(root, "b", Kind::kIntent, "i1");
    CHECK(on_disk(Kind::kIntent, "i1") == std::string(R"({"mine":1})"));
    CHECK(mirror.counters().conflicts == 2);
  }
  SUBCASE("a copy replaced by a local record since it was written stays") {
    REQUIRE(engine.apply_remote(from("b"), Kind::kIntent, "i2", "{}").ok());
    mirror.changed(root, "b", Kind::kIntent, "i2");
    REQUIRE(on_disk(Kind::kIntent, "i2"));
    write(Kind::kIntent, "i2.json", R"({"mine":2})");  // not noticed yet
    engine.remove_remote(from("b"), Kind::kIntent, "i2");
    mirror.changed(root, "b", Kind::kIntent, "i2");
    CHECK(on_disk(Kind::kIntent, "i2") == std::string(R"({"mine":2})"));
  }
}

TEST_CASE_FIXTURE(MirrorFixture, "two hosts' records of one id: the first copy stays") {
  REQUIRE(engine.apply_remote(from("b"), Kind::kTask, "t1", R"({"by":"b"})").ok());
  REQUIRE(engine.apply_remote(from("c"), Kind::kTask, "t1", R"({"by":"c"})").ok());
  mirror.changed(root, "b", Kind::kTask, "t1");
  mirror.changed(root, "c", Kind::kTask, "t1");
  CHECK(on_disk(Kind::kTask, "t1") == encode_mirror_file(R"({"by":"b"})", "b") + "\n");
  CHECK(mirror.counters().conflicts == 1);
  engine.remove_remote(from("c"), Kind::kTask, "t1");
  mirror.changed(root, "c", Kind::kTask, "t1");  // c's record going leaves b's copy
  CHECK(on_disk(Kind::kTask, "t1"));
}

TEST_CASE_FIXTURE(MirrorFixture,
                  "reconcile after a fresh read: stale copies go, missing and outdated ones are "
                  "written, current ones are left as they are") {
  // Left by an earlier run: a copy of a record b has since removed, one b
  // changed, one that is current, and one deleted here (muse coord gc).
  write_and_notify(Kind::kReservation, "gone.json", encode_mirror_file(R"({"old":1})", "b"));
  write_and_notify(Kind::kReservation, "old.json", encode_mirror_file(R"({"v":1})", "b"));
  write_and_notify(Kind::kReservation, "same.json", encode_mirror_file(R"({"v":1})", "b"));
  REQUIRE(engine.apply_remote(from("b"), Kind::kReservation, "old", R"({"v":2})").ok());
  REQUIRE(engine.apply_remote(from("b"), Kind::kReservation, "same", R"({"v":1})").ok());
  REQUIRE(engine.apply_remote(from("b"), Kind::kReservation, "new", R"({"v":3})").ok());
  FileStamp same_before = fs.read_file(path(Kind::kReservation, "same.json"), 1 << 20).stamp;

  mirror.reconcile(root);
  CHECK_FALSE(on_disk(Kind::kReservation, "gone"));
  CHECK(on_disk(Kind::kReservation, "old") == encode_mirror_file(R"({"v":2})", "b") + "\n");
  CHECK(on_disk(Kind::kReservation, "new") == encode_mirror_file(R"({"v":3})", "b") + "\n");
  CHECK(fs.read_file(path(Kind::kReservation, "same.json"), 1 << 20).stamp == same_before);
  CHECK(mirror.counters().written == 2);
  CHECK(mirror.counters().removed == 1);
  CHECK(sink.events.size() == 3);  // only the three apply_remote adds
}

}  // namespace
}  // namespace coordd::testing
