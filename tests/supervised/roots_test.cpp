// Several repositories in one daemon: --root given twice, watch_root and
// unwatch_root at run time, and a --roots-file re-read on SIGHUP (which also
// sets the log level and reopens --log-file). Every event names its root.
#include <doctest/doctest.h>
#include <signal.h>

#include <map>
#include <memory>
#include <set>

#include "tests/supervised/supervised_process.hpp"

namespace coordd::integration {
namespace {

std::string an_hour_from_now() {
  return iso_utc(std::chrono::system_clock::now() + std::chrono::hours(1));
}

// A second repository <tmp>/<name> with every kind directory; its
// canonical path, as coordd reports it.
fs::path make_repo(const Workspace& ws, std::string_view name) {
  for (std::string_view plural :
       {"reservations", "intents", "releases", "heartbeats", "tasks", "claims", "dependencies"}) {
    fs::create_directories(ws.scratch(name) / ".muse" / "coordination" / plural);
  }
  return fs::canonical(ws.scratch(name));
}

fs::path reservations_of(const fs::path& repo) {
  return repo / ".muse" / "coordination" / "reservations";
}

void write_reservation(const fs::path& repo, std::string_view id) {
  write_record_atomic(reservations_of(repo), id, reservation(id, an_hour_from_now()));
}

// Reads until an `event_type` event came for each of `ids`, in any order;
// returns them by id.
std::map<std::string, json::object> read_events(EventReader& reader, std::string_view event_type,
                                                std::set<std::string> ids) {
  auto waiting = std::make_shared<std::set<std::string>>(ids);
  std::string type(event_type);
  std::vector<json::object> lines = reader.read_until(
      LinePattern{"'" + type + "' events for " + std::to_string(ids.size()) + " record(s)",
                  [waiting, type](const json::object& line) {
                    if (line.at("type") == "event" && line.at("event_type") == type.c_str()) {
                      waiting->erase(std::string(line.at("id").as_string()));
                    }
                    return waiting->empty();
                  }});
  std::map<std::string, json::object> out;
  for (const json::object& event : events_of_type(lines, event_type)) {
    out[std::string(event.at("id").as_string())] = event;
  }
  return out;
}

// Everything `reader` receives up to the reply to a sync sent now: all the
// events owed to it for changes made before this call.
std::vector<json::object> read_through_sync(EventReader& reader) {
  reader.send_line(R"({"op":"sync","req":"through-sync"})");
  std::vector<json::object> lines = reader.read_until(line_of_type("synced"));
  lines.pop_back();
  return lines;
}

// The paths as a JSON array, the way status lists roots. A json::value, not
// an array, so that a failed CHECK can still print it.
json::value paths(std::initializer_list<fs::path> repos) {
  json::array out;
  for (const fs::path& repo : repos) out.emplace_back(repo.string());
  return out;
}

TEST_CASE("with two --root repos, every event names its repo and a root filter sees only its own") {
  Workspace ws;
  fs::path other = make_repo(ws, "repo-b");
  DaemonProcess daemon(ws, {"--root", other.string()});
  EventReader everything = daemon.connect();
  everything.subscribe();
  EventReader only_other = daemon.connect();
  only_other.subscribe({{"root", other.string()}});

  write_reservation(ws.repo(), "in-a");
  write_reservation(other, "in-b");

  auto added = read_events(everything, "added", {"in-a", "in-b"});
  CHECK(added.at("in-a").at("root") == ws.repo().c_str());
  CHECK(added.at("in-b").at("root") == other.c_str());
  CHECK(ids_of(events_of_type(read_through_sync(only_other))) == std::vector<std::string>{"in-b"});
}

TEST_CASE("watch_root reports a repo's records added, with its root, and watches it from then on") {
  Workspace ws;
  fs::path third = make_repo(ws, "repo-c");
  write_reservation(third, "c1");
  write_reservation(third, "c2");
  DaemonProcess daemon(ws);
  EventReader subscriber = daemon.connect();
  subscriber.subscribe();
  EventReader admin = daemon.connect();

  json::object reply = admin.call({{"op", "watch_root"}, {"path", third.string()}});

  CHECK(reply.at("type") == "watching");
  CHECK(reply.at("path") == third.c_str());
  CHECK(reply.at("backend") == "inotify");
  CHECK(reply.at("seq").is_number());
  for (const auto& [id, event] : read_events(subscriber, "added", {"c1", "c2"})) {
    CHECK(event.at("root") == third.c_str());
  }
  json::object status = admin.call({{"op", "status"}});
  CHECK(status.at("roots") == paths({ws.repo(), third}));
  CHECK(status.at("root_backends").as_array().back() ==
        json::object{{"path", third.string()}, {"backend", "inotify"}});
  write_reservation(third, "c3");
  CHECK(subscriber.read_until(event_for("added", "c3")).back().at("root") == third.c_str());
}

TEST_CASE("unwatch_root reports the repo's records removed, with their last data, and stops") {
  Workspace ws;
  fs::path other = make_repo(ws, "repo-b");
  write_reservation(other, "b1");
  DaemonProcess daemon(ws, {"--root", other.string()});
  EventReader subscriber = daemon.connect();
  subscriber.subscribe();
  json::object last = reservation("b1", an_hour_from_now(), "run-2");
  write_record_atomic(reservations_of(other), "b1", last);
  subscriber.read_until(event_for("modified", "b1"));
  EventReader admin = daemon.connect();

  json::object reply = admin.call({{"op", "unwatch_root"}, {"path", other.string()}});

  CHECK(reply.at("type") == "unwatched");
  CHECK(reply.at("path") == other.c_str());
  json::object removed = subscriber.read_until(event_for("removed", "b1")).back();
  CHECK(removed.at("root") == other.c_str());
  CHECK(removed.at("data") == last);
  CHECK(admin.call({{"op", "status"}}).at("roots") == paths({ws.repo()}));
  write_reservation(other, "b2");
  CHECK(events_of_type(read_through_sync(subscriber)).empty());
}

TEST_CASE("watch_root refuses a symlink, a missing path and a plain file with bad_root") {
  Workspace ws;
  fs::path real = make_repo(ws, "real");
  fs::create_directory_symlink(real, ws.scratch("link"));
  write_file_in_place(ws.scratch("plain-file"), "not a repo\n");
  DaemonProcess daemon(ws);
  EventReader admin = daemon.connect();

  for (const fs::path& path :
       {ws.scratch("link"), ws.scratch("missing"), ws.scratch("plain-file")}) {
    json::object reply = admin.call({{"op", "watch_root"}, {"path", path.string()}});
    INFO(path << ": " << json::serialize(reply));
    CHECK(error_code_of(reply) == "bad_root");
  }
  CHECK(admin.call({{"op", "status"}}).at("roots") == paths({ws.repo()}));
}

TEST_CASE("watch_root refuses a symlink to a repo even when the path ends in / or /.") {
  std::string suffix;
  SUBCASE("link/") { suffix = "/"; }
  SUBCASE("link/.") { suffix = "/."; }
  Workspace ws;
  fs::path real = make_repo(ws, "real");
  fs::create_directory_symlink(real, ws.scratch("link"));
  DaemonProcess daemon(ws);
  EventReader admin = daemon.connect();

  // lstat("link/") and lstat("link/.") follow the link to the directory.
  json::object reply =
      admin.call({{"op", "watch_root"}, {"path", ws.scratch("link").string() + suffix}});

  INFO(json::serialize(reply));
  CHECK(error_code_of(reply) == "bad_root");
  CHECK(admin.call({{"op", "status"}}).at("roots") == paths({ws.repo()}));
}

TEST_CASE("unwatch_root of a path that is not watched is unknown_root") {
  Workspace ws;
  fs::path other = make_repo(ws, "repo-b");
  DaemonProcess daemon(ws);

  json::object reply = daemon.connect().call({{"op", "unwatch_root"}, {"path", other.string()}});

  CHECK(error_code_of(reply) == "unknown_root");
}

TEST_CASE("SIGHUP re-reads --roots-file: a repo added is watched, a repo dropped is removed") {
  Workspace ws;
  fs::path a = make_repo(ws, "repo-a");
  fs::path b = make_repo(ws, "repo-b");
  write_reservation(a, "a1");
  write_reservation(b, "b1");
  fs::path roots = ws.scratch("roots");
  write_file_in_place(roots, a.string() + "\n");
  SupervisedProcess daemon(
      Launch{coordd_command(ws, {"--roots-file", roots.string()}, WorkspaceRoot::kNotGiven),
             {},
             ws.scratch("coordd.log")});
  daemon.wait_until_serving(ws.socket());
  EventReader subscriber = daemon.connect(ws.socket());
  CHECK(ids_of(subscriber.subscribe().snapshot) == std::vector<std::string>{"a1"});

  write_file_in_place(roots, a.string() + "\n" + b.string() + "\n");
  daemon.send_signal(SIGHUP);
  CHECK(subscriber.read_until(event_for("added", "b1")).back().at("root") == b.c_str());

  write_file_in_place(roots, "# only b now\n" + b.string() + "\n");
  daemon.send_signal(SIGHUP);
  CHECK(subscriber.read_until(event_for("removed", "a1")).back().at("root") == a.c_str());
  CHECK(daemon.connect(ws.socket()).call({{"op", "status"}}).at("roots") == paths({b}));
}

TEST_CASE("a repo given with --root stays watched when a SIGHUP'd --roots-file leaves it out") {
  Workspace ws;
  fs::path roots = ws.scratch("roots");
  write_file_in_place(roots, ws.repo().string() + "\n");
  SupervisedProcess daemon(
      Launch{coordd_command(ws, {"--roots-file", roots.string()}), {}, ws.scratch("coordd.log")});
  daemon.wait_until_serving(ws.socket());

  write_file_in_place(roots, "# nothing\n");
  daemon.send_signal(SIGHUP);
  daemon.wait_for_log("received SIGHUP");  // the reload then runs in one go on the reactor

  EventReader reader = daemon.connect(ws.socket());
  reader.subscribe();
  write_reservation(ws.repo(), "still-watched");
  reader.read_until(event_for("added", "still-watched"));
  CHECK(reader.call({{"op", "status"}}).at("roots") == paths({ws.repo()}));
}

TEST_CASE("a SIGHUP'd --roots-file naming a missing directory keeps the current roots") {
  Workspace ws;
  fs::path a = make_repo(ws, "repo-a");
  fs::path roots = ws.scratch("roots");
  write_file_in_place(roots, a.string() + "\n");
  SupervisedProcess daemon(
      Launch{coordd_command(ws, {"--roots-file", roots.string()}, WorkspaceRoot::kNotGiven),
             {},
             ws.scratch("coordd.log")});
  daemon.wait_until_serving(ws.socket());

  write_file_in_place(roots, ws.scratch("gone").string() + "\n");
  daemon.send_signal(SIGHUP);

  daemon.wait_for_log("keeping the current roots");
  CHECK(mentions(daemon.log(), "is not an existing directory"));
  CHECK(daemon.connect(ws.socket()).call({{"op", "status"}}).at("roots") == paths({a}));
}

TEST_CASE("SIGHUP reopens --log-file and applies a log-level line from --roots-file") {
  Workspace ws;
  fs::path roots = ws.scratch("roots");
  fs::path log = ws.scratch("coordd-file.log");
  write_file_in_place(roots, ws.repo().string() + "\n");
  // coordd's only debug line says a notification failed: a NOTIFY_SOCKET
  // nobody listens on makes every notification fail, so each READY=1 and
  // RELOADING=1 is a debug line once the level allows it.
  SupervisedProcess daemon(
      Launch{coordd_command(ws, {"--roots-file", roots.string(), "--log-file", log.string()}),
             {{"NOTIFY_SOCKET", ws.scratch("nobody-listens.sock").string()}},
             ws.scratch("stderr.log")});
  daemon.wait_until_serving(ws.socket());
  fs::rename(log, ws.scratch("coordd-file.log.1"));  // as logrotate does

  write_file_in_place(roots, "log-level debug\n" + ws.repo().string() + "\n");
  daemon.send_signal(SIGHUP);
  wait_for_text(log, "log level is now debug");
  // Lines under info are not flushed at once; the next SIGHUP's info line flushes them.
  daemon.send_signal(SIGHUP);
  wait_for_text(log, "debug sd_notify(READY=1");

  std::string rotated = read_text(ws.scratch("coordd-file.log.1"));
  INFO(rotated);
  CHECK(mentions(rotated, "initial scan"));
  CHECK(!mentions(rotated, "debug"));
  CHECK(!mentions(read_text(log), "initial scan"));
}

}  // namespace
}  // namespace coordd::integration
