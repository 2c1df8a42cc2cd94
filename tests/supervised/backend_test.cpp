// Watch backends beyond the matrix tests/integration already runs twice:
// --backend poll is reported as such and delivers; --backend auto falls
// back to polling, with a warning naming inotify, when the kernel refuses an
// inotify instance; --backend inotify then refuses to start.
#include <doctest/doctest.h>
#include <unistd.h>

#include <fstream>
#include <optional>

#include "tests/supervised/supervised_process.hpp"

namespace coordd::integration {
namespace {

constexpr auto kMaxInstances = "/proc/sys/fs/inotify/max_user_instances";

std::string an_hour_from_now() {
  return iso_utc(std::chrono::system_clock::now() + std::chrono::hours(1));
}

// While it lives, fs.inotify.max_user_instances is 0, so inotify_init1
// fails with EMFILE for every process. The setting is machine-wide: hold it
// only while a coordd starts. The saved value is written back on
// destruction, also when the test fails meanwhile.
class InotifyUnavailable {
 public:
  InotifyUnavailable() {
    std::ifstream in(kMaxInstances);
    if (!(in >> saved_)) {
      why_not_ = std::string("cannot read ") + kMaxInstances;
      return;
    }
    if (!write("0")) why_not_ = std::string("cannot write ") + kMaxInstances;
  }
  ~InotifyUnavailable() {
    if (why_not_.empty()) write(saved_);
  }
  InotifyUnavailable(const InotifyUnavailable&) = delete;
  InotifyUnavailable& operator=(const InotifyUnavailable&) = delete;

  // Why the limit could not be lowered, or "" when it is.
  const std::string& why_not() const { return why_not_; }

 private:
  static bool write(const std::string& value) {
    std::ofstream out(kMaxInstances);
    out << value << "\n";
    out.flush();
    return bool(out);
  }

  std::string saved_;
  std::string why_not_;
};

TEST_CASE("--backend poll says poll in status and still delivers an added record") {
  Workspace ws;
  DaemonProcess daemon(ws, {"--backend", "poll", "--poll-interval", "0.05"});
  EventReader reader = daemon.connect();

  json::object status = reader.call({{"op", "status"}});
  reader.subscribe();
  write_record_atomic(ws.kind_dir("reservations"), "r1", reservation("r1", an_hour_from_now()));

  CHECK(status.at("backend") == "poll");
  CHECK(status.at("root_backends") ==
        json::array{json::object{{"path", ws.repo().string()}, {"backend", "poll"}}});
  json::object added = reader.read_until(event_for("added", "r1")).back();
  CHECK(added.at("root") == ws.repo().c_str());
}

TEST_CASE("--backend auto polls, warning about inotify, when no inotify instance can be had") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: lowering fs.inotify.max_user_instances needs root");
    return;
  }
  Workspace ws;
  std::optional<DaemonProcess> daemon;
  {
    InotifyUnavailable no_inotify;
    if (!no_inotify.why_not().empty()) {
      MESSAGE("skipped: " << no_inotify.why_not());
      return;
    }
    daemon.emplace(ws,
                   std::vector<std::string>{"--poll-interval", "0.05"});  // returns once serving
  }  // the limit is restored here, before anything is asserted
  EventReader reader = daemon->connect();

  json::object status = reader.call({{"op", "status"}});
  reader.subscribe();
  write_record_atomic(ws.kind_dir("reservations"), "r1", reservation("r1", an_hour_from_now()));

  CHECK(status.at("backend") == "poll");
  std::vector<std::string> warnings;
  for (const std::string& line : lines_of(daemon->log())) {
    if (mentions(line, "warning") && mentions(line, "inotify")) warnings.push_back(line);
  }
  INFO(daemon->log());
  CHECK(warnings.size() == 1);
  reader.read_until(event_for("added", "r1"));
}

TEST_CASE("--backend inotify exits 1, saying why, when no inotify instance can be had") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: lowering fs.inotify.max_user_instances needs root");
    return;
  }
  Workspace ws;
  DaemonExit exit;
  {
    InotifyUnavailable no_inotify;
    if (!no_inotify.why_not().empty()) {
      MESSAGE("skipped: " << no_inotify.why_not());
      return;
    }
    exit = DaemonProcess::run_expecting_exit(ws, {"--backend", "inotify"});
  }

  CHECK(exit.code == 1);
  INFO(exit.log);
  CHECK(mentions(exit.log, "--backend inotify cannot watch " + ws.repo().string()));
  CHECK(mentions(exit.log, "max_user_instances"));
}

}  // namespace
}  // namespace coordd::integration
