// Engine: files that are not acceptable records are skipped, counted and warned about once.
#include <doctest/doctest.h>

#include "tests/unit/captured_log.hpp"
#include "tests/unit/engine_fixture.hpp"

using namespace coordd;
using namespace coordd::testing;

TEST_CASE_FIXTURE(
    EngineFixture,
    "a FIFO, a symlink and a too-large file named like records are skipped and counted") {
  start();
  fs.make_fifo(path(Kind::kReservation, "fifo.json"));
  fs.make_symlink(path(Kind::kReservation, "passwd.json"));
  fs.make_too_large(path(Kind::kReservation, "huge.json"), 5 << 20);

  for (const char* name : {"fifo.json", "passwd.json", "huge.json"}) {
    engine.on_file_changed(root, Kind::kReservation, name);
  }

  CHECK(sink.events.empty());
  CHECK(engine.store().size() == 0);
  CHECK(engine.counters().bad_files_skipped == 3);
  CHECK(engine.bad_file_count() == 3);
}

TEST_CASE("a file larger than max_record_bytes is skipped even when it is valid JSON") {
  FakeFileSystem fs;
  FakeClock clock{at("2026-03-30T15:00:00Z")};
  Engine engine{fs, clock, EngineOptions{.max_record_bytes = 16}};
  RootId root = engine.add_root("/repo");
  fs.write("/repo/.muse/coordination/tasks/t1.json", R"({"title":"seventeen"})");

  engine.on_rescan(root, RescanCause::kInitial);

  CHECK(engine.store().size() == 0);
  CHECK(engine.counters().bad_files_skipped == 1);
}

TEST_CASE_FIXTURE(EngineFixture, "an invalid record name is counted and its file is never read") {
  start();
  write(Kind::kReservation, "a..b.json", kReservationR1);
  write(Kind::kReservation, "\x1b[31mred.json", kReservationR1);

  engine.on_file_changed(root, Kind::kReservation, "a..b.json");
  engine.on_file_changed(root, Kind::kReservation, "\x1b[31mred.json");

  CHECK(fs.reads().empty());
  CHECK(sink.events.empty());
  CHECK(engine.counters().bad_files_skipped == 2);
  CHECK(engine.bad_file_count() == 2);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "an invalid name that is deleted is no longer counted as a bad file") {
  start();
  write_and_notify(Kind::kReservation, "a..b.json", "{}");

  delete_and_notify(Kind::kReservation, "a..b.json");

  CHECK(engine.bad_file_count() == 0);
  CHECK(sink.events.empty());
}

TEST_CASE_FIXTURE(
    EngineFixture,
    "a file that stays invalid is warned about and counted once, however often it is seen") {
  start();
  CapturedLog log;

  for (int i = 0; i < 3; ++i) write_and_notify(Kind::kTask, "t1.json", "{oops");

  CHECK(log.count("warning skipping /repo/.muse/coordination/tasks/t1.json") == 1);
  CHECK(engine.counters().bad_files_skipped == 1);
  CHECK(engine.bad_file_count() == 1);
}

TEST_CASE_FIXTURE(EngineFixture, "a file that is fixed and then broken again is counted again") {
  start();

  write_and_notify(Kind::kTask, "t1.json", "{oops");
  write_and_notify(Kind::kTask, "t1.json", R"({"task_id":"t1"})");
  write_and_notify(Kind::kTask, "t1.json", "{oops again");

  CHECK(engine.counters().bad_files_skipped == 2);
  CHECK(engine.bad_file_count() == 1);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "the poller neither re-reads nor recounts a bad file whose stamp is unchanged") {
  write(Kind::kTask, "t1.json", "{oops");
  start();
  std::size_t reads = fs.reads().size();

  for (int i = 0; i < 3; ++i) engine.on_rescan(root, RescanCause::kPoll);

  CHECK(engine.counters().bad_files_skipped == 1);
  CHECK(fs.reads().size() == reads);
}

TEST_CASE_FIXTURE(EngineFixture,
                  "the warning about a name holding an ANSI escape writes the escape as text") {
  start();
  CapturedLog log;

  engine.on_file_changed(root, Kind::kTask, "\x1b]0;owned\x07t.json");

  CHECK(log.count("\\x1b]0;owned\\x07t.json") == 1);
  CHECK(log.text().find('\x1b') == std::string::npos);
}

TEST_CASE_FIXTURE(EngineFixture, "a directory named like a record is skipped and counted") {
  fs.make_dir(path(Kind::kTask, "sub.json"));

  start();

  CHECK(engine.store().size() == 0);
  CHECK(engine.counters().bad_files_skipped == 1);
}

TEST_CASE_FIXTURE(EngineFixture, "dot files and temp files are ignored: not read, not counted") {
  start();
  write(Kind::kTask, ".t1.json.swp", "x");
  write(Kind::kTask, "t1.json.tmp", "x");

  engine.on_file_changed(root, Kind::kTask, ".t1.json.swp");
  engine.on_file_changed(root, Kind::kTask, "t1.json.tmp");

  CHECK(fs.reads().empty());
  CHECK(engine.counters().bad_files_skipped == 0);
  CHECK(sink.events.empty());
}

TEST_CASE_FIXTURE(EngineFixture,
                  "the initial scan skips and counts every file in a bad-file directory") {
  write(Kind::kTask, "good.json", R"({"title":"ok"})");
  write(Kind::kTask, "corrupt.json", R"({"title":)");
  fs.make_too_large(path(Kind::kTask, "huge.json"), 5 << 20);
  fs.make_fifo(path(Kind::kTask, "fifo.json"));
  fs.make_symlink(path(Kind::kTask, "passwd.json"));
  write(Kind::kTask, "\x1b[2Jclear.json", "{}");
  write(Kind::kTask, "a..b.json", "{}");
  write(Kind::kTask, ".hidden.json", "{}");

  start();

  CHECK(engine.store().size() == 1);
  CHECK(stored(Kind::kTask, "good") != nullptr);
  CHECK(engine.counters().bad_files_skipped == 6);
  CHECK(engine.bad_file_count() == 6);
}
