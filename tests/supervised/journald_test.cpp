// Logging for journald: when JOURNAL_STREAM names the very file stderr is
// (its st_dev:st_ino), each line starts with a sd-daemon(3) priority,
// "<6>" for info and "<4>" for a warning, and carries no timestamp, since
// the journal stamps lines itself. Otherwise lines start with a timestamp.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <regex>

#include "tests/supervised/supervised_process.hpp"

namespace coordd::integration {
namespace {

const std::regex kTimestamped(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} .*)");
const std::regex kPrioritized(R"(^<[0-7]>.*)");

// The workspace with one bad record file, so the log holds a warning too.
void add_a_bad_record(const Workspace& ws) {
  write_record_in_place(ws.kind_dir("tasks"), "broken", "{not json");
}

// The log of a coordd that started, served and stopped with `launch`.
std::vector<std::string> log_of_a_run(const Workspace& ws, Launch launch) {
  SupervisedProcess daemon(std::move(launch));
  daemon.wait_until_serving(ws.socket());
  REQUIRE(daemon.terminate() == 0);
  return lines_of(daemon.log());
}

std::vector<std::string> lines_not_matching(const std::vector<std::string>& lines,
                                            const std::regex& pattern) {
  std::vector<std::string> out;
  for (const std::string& line : lines) {
    if (!std::regex_match(line, pattern)) out.push_back(line);
  }
  return out;
}

bool has_line_starting(const std::vector<std::string>& lines, std::string_view start) {
  for (const std::string& line : lines) {
    if (line.starts_with(start)) return true;
  }
  return false;
}

TEST_CASE("with JOURNAL_STREAM naming its stderr, coordd logs <N> priorities and no timestamps") {
  Workspace ws;
  add_a_bad_record(ws);

  std::vector<std::string> lines =
      log_of_a_run(ws, Launch{coordd_command(ws), {}, ws.scratch("journal.log"), true});

  REQUIRE(!lines.empty());
  CHECK(lines_not_matching(lines, kPrioritized) == std::vector<std::string>{});
  CHECK(has_line_starting(lines, "<6>coordd "));
  CHECK(has_line_starting(lines, "<4>skipping "));
  CHECK(lines_not_matching(lines, kTimestamped) == lines);
}

TEST_CASE("without JOURNAL_STREAM, every log line starts with a timestamp") {
  Workspace ws;
  add_a_bad_record(ws);

  std::vector<std::string> lines =
      log_of_a_run(ws, Launch{coordd_command(ws), {}, ws.scratch("plain.log")});

  REQUIRE(!lines.empty());
  CHECK(lines_not_matching(lines, kTimestamped) == std::vector<std::string>{});
}

TEST_CASE("a JOURNAL_STREAM naming some other file is not stderr: lines keep their timestamps") {
  Workspace ws;
  write_file_in_place(ws.scratch("elsewhere"), "");
  struct stat st {};
  REQUIRE(::stat(ws.scratch("elsewhere").c_str(), &st) == 0);
  std::string elsewhere = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);

  std::vector<std::string> lines = log_of_a_run(
      ws, Launch{coordd_command(ws), {{"JOURNAL_STREAM", elsewhere}}, ws.scratch("plain.log")});

  REQUIRE(!lines.empty());
  CHECK(lines_not_matching(lines, kTimestamped) == std::vector<std::string>{});
}

}  // namespace
}  // namespace coordd::integration
