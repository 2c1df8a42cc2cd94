// A repository, its .muse and its kind directories deleted, re-created, moved
// away and back, or made unreadable while coordd runs: each is picked up
// again on its own, with exact events, and a root that cannot be watched
// right now is reported as degraded -- in status and in sync -- instead of
// holding every sync until it times out.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "tests/integration/daemon_fixture.hpp"
#include "tests/support/program_paths.hpp"
#include "tests/support/workspace.hpp"

namespace coordd::integration {
namespace {

json::object status_of(EventReader& reader) { return reader.call({{"op", "status"}}); }

// The status entry of `root` in root_backends.
json::object root_entry(const json::object& status, const fs::path& root) {
  for (const json::value& entry : status.at("root_backends").as_array()) {
    if (entry.at("path").as_string() == root.string()) return entry.as_object();
  }
  FAIL("status lists no root " << root << ": " << json::serialize(status));
  return {};
}

std::string degraded_reason(EventReader& reader, const fs::path& root) {
  json::object entry = root_entry(status_of(reader), root);
  const json::value* reason = entry.if_contains("degraded");
  return reason ? std::string(reason->as_string()) : std::string();
}

// A second repository in the workspace, with every kind directory.
fs::path make_repo(const Workspace& ws, std::string_view name) {
  fs::path repo = ws.scratch(name);
  for (std::string_view kind : support::kKindDirs) {
    fs::create_directories(repo / ".muse/coordination" / kind);
  }
  return fs::canonical(repo);
}

std::uint64_t rescans(EventReader& reader) {
  return status_of(reader).at("rescans").to_number<std::uint64_t>();
}

}  // namespace

TEST_CASE(
    "a repository deleted and re-created is watched again, and meanwhile sync completes for the "
    "other roots, naming the missing one") {
  Workspace ws;
  fs::path other = make_repo(ws, "other");
  write_record_atomic(ws.kind_dir("reservations"), "before", reservation("before", "2999-01-01"));
  // Debug logging: should this ever fail, the log shows each arming.
  DaemonProcess daemon(ws, {"--root", other.string(), "--log-level", "debug"});
  EventReader reader = daemon.connect();
  reader.subscribe();

  fs::remove_all(ws.repo());
  reader.read_until(event_for("removed", "before"));
  json::object synced = reader.call({{"op", "sync"}, {"timeout_ms", 3000}});
  REQUIRE(synced.at("type") == "synced");
  REQUIRE(synced.contains("degraded"));
  json::array degraded = synced.at("degraded").as_array();
  REQUIRE_MESSAGE(degraded.size() == 1, json::serialize(synced));
  CHECK(degraded[0].at("root").as_string() == ws.repo().string());
  CHECK(std::string(degraded[0].at("reason").as_string()).find("does not exist") !=
        std::string::npos);
  CHECK(degraded_reason(reader, ws.repo()).find("does not exist") != std::string::npos);
  CHECK(status_of(reader).at("degraded_roots") == 1);
  // The healthy root is still served live.
  write_record_atomic(other / ".muse/coordination/tasks", "t-other", {{"task_id", "t-other"}});
  reader.read_until(event_for("added", "t-other"));

  for (std::string_view kind : support::kKindDirs) fs::create_directories(ws.kind_dir(kind));
  write_record_atomic(ws.kind_dir("reservations"), "after", reservation("after", "2999-01-01"));
  reader.read_until(event_for("added", "after"));
  // Within the reader's deadline, so that a cookie never reported comes back
  // as a sync_timeout naming its root.
  synced = reader.call({{"op", "sync"}, {"timeout_ms", 4000}});
  CHECK_MESSAGE(synced.at("type") == "synced", json::serialize(synced) << "\n" << daemon.log());
  CHECK_FALSE(synced.contains("degraded"));
  CHECK(degraded_reason(reader, ws.repo()).empty());
  // And it stays watched: a later write comes live, not by a rescan.
  write_record_atomic(ws.kind_dir("intents"), "i-1", {{"intent_id", "i-1"}});
  reader.read_until(event_for("added", "i-1"));
}

TEST_CASE(
    "a repository moved away and back reports its records removed, then added, and nothing "
    "written into it while it was elsewhere") {
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t-1", {{"task_id", "t-1"}});
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();

  fs::path away = ws.scratch("repo.away");
  fs::rename(ws.repo(), away);
  reader.read_until(event_for("removed", "t-1"));
  // Written while the directory is not at the root's path: not the root's.
  write_record_atomic(away / ".muse/coordination/tasks", "t-away", {{"task_id", "t-away"}});
  json::object synced = reader.call({{"op", "sync"}});
  REQUIRE(synced.at("type") == "synced");
  fs::rename(away, ws.repo());
  std::vector<json::object> lines = reader.read_until(event_for("added", "t-away"));
  CHECK(ids_of(events_of_type(lines, "added")) == std::vector<std::string>{"t-1", "t-away"});
  CHECK(events_of_type(lines, "removed").empty());
  write_record_atomic(ws.kind_dir("tasks"), "t-2", {{"task_id", "t-2"}});
  reader.read_until(event_for("added", "t-2"));
}

TEST_CASE("a .muse replaced by a fresh directory is watched again") {
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "old", {{"task_id", "old"}});
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  reader.subscribe();
  fs::path fresh = ws.scratch("fresh-muse");
  fs::create_directories(fresh / "coordination/tasks");
  write_record_atomic(fresh / "coordination/tasks", "new", {{"task_id", "new"}});
  fs::rename(ws.repo() / ".muse", ws.scratch("old-muse"));
  fs::rename(fresh, ws.repo() / ".muse");
  std::vector<json::object> lines = reader.read_until(event_for("added", "new"));
  if (ids_of(events_of_type(lines, "removed")) != std::vector<std::string>{"old"}) {
    reader.read_until(event_for("removed", "old"));
  }
  write_record_atomic(ws.kind_dir("tasks"), "newer", {{"task_id", "newer"}});
  reader.read_until(event_for("added", "newer"));
  // The old directory, moved away, no longer speaks for the root.
  write_record_atomic(ws.scratch("old-muse") / "coordination/tasks", "ghost", {{"task_id", "g"}});
  json::object synced = reader.call({{"op", "sync"}});
  CHECK(synced.at("type") == "synced");
  CHECK(reader.call({{"op", "list"}, {"kinds", json::array{"task"}}})
            .at("records")
            .as_array()
            .size() == 2);
}

TEST_CASE("one symlinked kind directory does not stop coordd from watching the other kinds") {
  Workspace ws;
  fs::path elsewhere = ws.scratch("intents-elsewhere");
  fs::create_directories(elsewhere);
  write_record_atomic(elsewhere, "secret", {{"intent_id", "secret"}});
  fs::remove(ws.kind_dir("intents"));
  fs::create_directory_symlink(elsewhere, ws.kind_dir("intents"));
  DaemonProcess daemon(ws);
  EventReader reader = daemon.connect();
  Subscribed subscribed = reader.subscribe();
  CHECK(subscribed.snapshot.empty());
  CHECK(degraded_reason(reader, ws.repo()).find("intents is a symlink") != std::string::npos);
  write_record_atomic(ws.kind_dir("reservations"), "r-1", reservation("r-1", "2999-01-01"));
  reader.read_until(event_for("added", "r-1"));
  // Each sync rescans the degraded root and refuses the link again: counted
  // every time, logged once.
  for (int i = 0; i < 5; ++i) REQUIRE(reader.call({{"op", "sync"}}).at("type") == "synced");
  CHECK(status_of(reader).at("symlinks_refused").to_number<std::uint64_t>() >= 5);
  std::string log = daemon.log();
  std::size_t said = 0;
  for (std::size_t at = 0;
       (at = log.find("intents is a symlink; refusing", at)) != std::string::npos; ++at) {
    ++said;
  }
  CHECK(said == 1);
  // Replaced by a real directory, the kind is watched too.
  fs::remove(ws.kind_dir("intents"));
  fs::create_directory(ws.kind_dir("intents"));
  write_record_atomic(ws.kind_dir("intents"), "i-1", {{"intent_id", "i-1"}});
  reader.read_until(event_for("added", "i-1"));
  CHECK_MESSAGE(degraded_reason(reader, ws.repo()).empty(), degraded_reason(reader, ws.repo()));
}

TEST_CASE("a missing repository does not make coordd rescan in a loop") {
  Workspace ws;
  fs::path other = make_repo(ws, "other");
  DaemonProcess daemon(ws, {"--root", other.string()});
  EventReader reader = daemon.connect();
  reader.subscribe();
  fs::remove_all(ws.repo());
  reader.call({{"op", "sync"}});
  std::uint64_t before = rescans(reader);
  // Twenty round trips through the other root: a rescan loop would run
  // thousands of times meanwhile (the polling backend rescans on its timer).
  for (int i = 0; i < 20; ++i) {
    std::string id = "t-" + std::to_string(i);
    write_record_atomic(other / ".muse/coordination/tasks", id, {{"task_id", id}});
    reader.read_until(event_for("added", id));
  }
  std::uint64_t allowed = polling_backend() ? 200 : 2;
  CHECK(rescans(reader) - before <= allowed);
}

TEST_CASE(
    "a subscription filtered on a root keeps working after the root is unwatched and watched "
    "again") {
  Workspace ws;
  fs::path other = make_repo(ws, "other");
  DaemonProcess daemon(ws, {"--root", other.string()});
  EventReader reader = daemon.connect();
  reader.subscribe({{"root", other.string()}});
  EventReader admin = daemon.connect();
  CHECK(admin.call({{"op", "unwatch_root"}, {"path", other.string()}}).at("type") == "unwatched");
  CHECK(admin.call({{"op", "watch_root"}, {"path", other.string()}}).at("type") == "watching");
  write_record_atomic(other / ".muse/coordination/tasks", "t-back", {{"task_id", "t-back"}});
  reader.read_until(event_for("added", "t-back"));
}

// Permissions only bind a process that is not root: these run coordd as
// nobody (setpriv), on a workspace nobody owns.
namespace {

constexpr uid_t kNobody = 65534;

void give_to_nobody(const fs::path& dir) {
  REQUIRE(::chown(dir.c_str(), kNobody, kNobody) == 0);
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    REQUIRE(::lchown(entry.path().c_str(), kNobody, kNobody) == 0);
  }
}

// coordd as uid/gid 65534, serving ws; stopped (SIGTERM) when dropped.
class NobodyDaemon {
 public:
  explicit NobodyDaemon(const Workspace& ws)
      : log_(ws.scratch("nobody-coordd.log")), child_(command(ws), options(log_)) {
    std::string why;
    REQUIRE_MESSAGE(wait_for_ping(ws.socket(), child_, 10s, why) == Serving::kYes,
                    "coordd as nobody did not start: " << why << "; its log:\n"
                                                       << log_text());
  }
  EventReader connect(const Workspace& ws) const { return EventReader(ws.socket(), log_); }
  std::string log_text() const {
    std::ifstream in(log_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  static std::vector<std::string> command(const Workspace& ws) {
    ws.make_socket_dir();
    give_to_nobody(ws.dir());
    std::vector<std::string> args = {"setpriv",
                                     "--reuid=65534",
                                     "--regid=65534",
                                     "--clear-groups",
                                     support::coordd_binary(),
                                     "--root",
                                     ws.repo().string(),
                                     "--socket",
                                     ws.socket().string(),
                                     "--state-dir",
                                     "none"};
    if (polling_backend())
      args.insert(args.end(), {"--backend", "poll", "--poll-interval", "0.05"});
    return args;
  }
  static support::ChildOptions options(const fs::path& log) {
    support::ChildOptions out;
    out.stdout_to = out.stderr_to = support::Output::kLog;
    out.log = log;
    return out;
  }
  fs::path log_;
  support::ChildProcess child_;
};

bool can_run_as_nobody() {
  if (::geteuid() == 0) {
    ::setenv("COORDD_SERVER_UID", "65534", 1);  // we trust the daemon we start
    return true;
  }
  MESSAGE("skipped: running coordd as uid 65534 needs root");
  return false;
}

}  // namespace

TEST_CASE("a record coordd could not read is published once a chmod makes it readable") {
  if (!can_run_as_nobody()) return;
  Workspace ws;
  NobodyDaemon daemon(ws);
  EventReader reader = daemon.connect(ws);
  reader.subscribe();
  fs::path record = ws.kind_dir("tasks") / "locked.json";
  write_file_atomic(ws.scratch("locked.tmp"), R"({"task_id":"locked"})");
  fs::permissions(ws.scratch("locked.tmp"), fs::perms::owner_write);
  fs::rename(ws.scratch("locked.tmp"), record);  // root's file, unreadable to nobody
  REQUIRE(reader.call({{"op", "sync"}}).at("type") == "synced");
  CHECK(reader.call({{"op", "list"}}).at("records").as_array().empty());
  fs::permissions(record, fs::perms::owner_read | fs::perms::others_read, fs::perm_options::add);
  reader.read_until(event_for("added", "locked"));
}

TEST_CASE(
    "a kind directory made unreadable is degraded in status, keeps its records, and is read "
    "again once readable") {
  if (!can_run_as_nobody()) return;
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t-1", {{"task_id", "t-1"}});
  NobodyDaemon daemon(ws);
  EventReader reader = daemon.connect(ws);
  reader.subscribe();
  fs::permissions(ws.kind_dir("tasks"), fs::perms::none);
  REQUIRE(reader.call({{"op", "sync"}}).at("type") == "synced");
  CHECK(degraded_reason(reader, ws.repo()).find("tasks cannot be read") != std::string::npos);
  CHECK(reader.call({{"op", "list"}}).at("records").as_array().size() == 1);
  // Written while coordd cannot look: seen once the directory opens again.
  write_record_atomic(ws.kind_dir("tasks"), "t-2", {{"task_id", "t-2"}});
  ::lchown((ws.kind_dir("tasks") / "t-2.json").c_str(), kNobody, kNobody);
  fs::permissions(ws.kind_dir("tasks"), fs::perms::owner_all);
  reader.read_until(event_for("added", "t-2"));
  CHECK_MESSAGE(degraded_reason(reader, ws.repo()).empty(), degraded_reason(reader, ws.repo()));
}

}  // namespace coordd::integration
