// Who may connect: coordd reads the peer's uid with SO_PEERCRED at accept.
// Its own uid and root get full access; --allow-uid/--allow-gid (number or
// name) read-only access unless --allow-write; anyone else one `forbidden`
// line and a closed connection, with the uid in coordd's log. The clients
// here really run as uid 65534 (nobody), so the suite needs root.
#include <doctest/doctest.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/supervised/foreign_client.hpp"
#include "tests/supervised/supervised_process.hpp"

namespace coordd::integration {
namespace {

// coordd makes its socket 0600, so another uid could not even connect: the
// file mode is the first gate. These tests are about the second one,
// coordd's own SO_PEERCRED check, so they open the first: the directories
// on the way become 0711 (traversable; coordd refuses only a socket
// directory that group or others may *write*) and, once coordd has made it,
// the socket 0666.
void let_others_reach_the_socket_dir(const Workspace& ws) {
  fs::create_directory(ws.socket_dir());
  for (const fs::path& dir : {ws.socket_dir().parent_path(), ws.socket_dir()}) {
    fs::permissions(dir, fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec);
  }
}

void let_others_connect(const Workspace& ws) { REQUIRE(::chmod(ws.socket().c_str(), 0666) == 0); }

bool running_as_root() { return ::geteuid() == 0; }

json::object context_message(std::string_view content) {
  return {{"kind", "additional_context"}, {"content", content}};
}

// Every request a client might make, the read-only ones first.
std::vector<json::object> every_kind_of_request(const Workspace& ws) {
  return {
      {{"op", "ping"}},
      {{"op", "subscribe"}},
      {{"op", "list"}},
      {{"op", "status"}},
      {{"op", "send"}, {"to", "orchestrator"}, {"message", context_message("hi")}},
      {{"op", "broadcast"}, {"message", context_message("hi all")}},
      {{"op", "watch_root"}, {"path", ws.scratch("sock").string()}},
      {{"op", "unwatch_root"}, {"path", ws.repo().string()}},
      {{"op", "hello"}, {"agent", "worker-9"}},
  };
}
constexpr std::size_t kReadOnlyRequests = 4;

TEST_CASE("a client of another uid that is not allowed gets one forbidden line, then EOF") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  let_others_reach_the_socket_dir(ws);
  DaemonProcess daemon(ws);
  let_others_connect(ws);

  ForeignConversation talk = converse_as(ForeignUser{}, ws.socket(), {{{"op", "ping"}}});

  INFO(talk.describe());
  REQUIRE(talk.failure.empty());
  REQUIRE(talk.lines.size() == 1);
  CHECK(error_code_of(talk.lines.front()) == "forbidden");
  CHECK(talk.hung_up);
  CHECK(mentions(daemon.log(), "refused a client with uid 65534"));
}

TEST_CASE(
    "a refused client still sending a large request sends it all, reads its forbidden line, "
    "then EOF") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  let_others_reach_the_socket_dir(ws);
  DaemonProcess daemon(ws);
  let_others_connect(ws);

  // 512 KiB: more than the socket buffers hold, so the client is still
  // sending when coordd refuses it.
  ForeignConversation talk = converse_as(ForeignUser{}, ws.socket(),
                                         {{{"op", "ping"}, {"pad", std::string(512 * 1024, 'x')}}});

  INFO(talk.describe());
  CHECK(talk.failure.empty());
  CHECK(talk.unsent.empty());  // the whole request went out: no EPIPE
  REQUIRE(talk.lines.size() == 1);
  CHECK(error_code_of(talk.lines.front()) == "forbidden");
  CHECK(talk.hung_up);
}

TEST_CASE("500 refused connections are all refused and make a line or two of log, not 500") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  let_others_reach_the_socket_dir(ws);
  DaemonProcess daemon(ws);
  let_others_connect(ws);

  std::size_t refused = count_refusals_as(ForeignUser{}, ws.socket(), 500);

  CHECK(refused == 500);
  std::string log = daemon.log();
  std::size_t lines = 0;
  for (std::size_t at = log.find("refused a client with uid 65534"); at != std::string::npos;
       at = log.find("refused a client with uid 65534", at + 1)) {
    ++lines;
  }
  INFO(log);
  CHECK(lines >= 1);
  CHECK(lines <= 2);  // the first, and a count if 10 s went by
}

TEST_CASE(
    "an --allow-uid client may ping, subscribe, list and ask status, and nothing that writes") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  let_others_reach_the_socket_dir(ws);
  DaemonProcess daemon(ws, {"--allow-uid", "65534"});
  let_others_connect(ws);
  EventReader orchestrator = daemon.connect();
  REQUIRE(orchestrator.call({{"op", "hello"}, {"agent", "orchestrator"}}).at("type") == "hello");

  std::vector<json::object> requests = every_kind_of_request(ws);

  ForeignConversation talk = converse_as(ForeignUser{}, ws.socket(), requests);

  INFO(talk.describe());
  REQUIRE(talk.failure.empty());
  CHECK(!talk.hung_up);
  CHECK(talk.reply_to(0).at("type") == "pong");
  CHECK(talk.reply_to(1).at("type") == "subscribed");
  CHECK(talk.reply_to(2).at("type") == "list");
  CHECK(talk.reply_to(3).at("type") == "status");
  for (std::size_t i = kReadOnlyRequests; i < requests.size(); ++i) {
    CHECK(error_code_of(talk.reply_to(i)) == "forbidden");
  }
  CHECK(orchestrator.call({{"op", "status"}}).at("roots") == json::array{ws.repo().string()});
}

TEST_CASE("--allow-gid by group name admits a client in that group, read-only") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  let_others_reach_the_socket_dir(ws);
  DaemonProcess daemon(ws, {"--allow-gid", "nogroup"});
  let_others_connect(ws);

  ForeignConversation talk =
      converse_as(ForeignUser{}, ws.socket(),
                  {{{"op", "ping"}}, {{"op", "broadcast"}, {"message", context_message("hi")}}});

  INFO(talk.describe());
  REQUIRE(talk.failure.empty());
  CHECK(talk.reply_to(0).at("type") == "pong");
  CHECK(error_code_of(talk.reply_to(1)) == "forbidden");
}

TEST_CASE("--allow-gid admits a client through a supplementary group, and only through it") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  let_others_reach_the_socket_dir(ws);
  DaemonProcess daemon(ws, {"--allow-gid", "4242"});
  let_others_connect(ws);
  ForeignUser in_the_group{kNobodyUid, kNobodyGid, {4242}};

  ForeignConversation member = converse_as(in_the_group, ws.socket(), {{{"op", "ping"}}});
  ForeignConversation outsider = converse_as(ForeignUser{}, ws.socket(), {{{"op", "ping"}}});

  INFO("member:\n" << member.describe() << "outsider:\n" << outsider.describe());
  CHECK(member.reply_to(0).at("type") == "pong");
  REQUIRE(!outsider.lines.empty());
  CHECK(error_code_of(outsider.lines.front()) == "forbidden");
}

TEST_CASE("an --allow-write client of another uid may watch a repo it owns, and no other") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  let_others_reach_the_socket_dir(ws);
  fs::create_directories(ws.scratch("theirs") / ".muse" / "coordination");
  fs::create_directories(ws.scratch("mine") / ".muse" / "coordination");
  for (const fs::path& dir : {ws.scratch("mine"), ws.scratch("mine") / ".muse",
                              ws.scratch("mine") / ".muse" / "coordination"}) {
    REQUIRE(::chown(dir.c_str(), kNobodyUid, kNobodyGid) == 0);
  }
  DaemonProcess daemon(ws, {"--allow-uid", "65534", "--allow-write"});
  let_others_connect(ws);

  ForeignConversation talk =
      converse_as(ForeignUser{}, ws.socket(),
                  {{{"op", "watch_root"}, {"path", ws.scratch("theirs").string()}},
                   {{"op", "watch_root"}, {"path", ws.scratch("mine").string()}}});

  INFO(talk.describe());
  REQUIRE(talk.failure.empty());
  CHECK(error_code_of(talk.reply_to(0)) == "bad_root");
  CHECK(talk.reply_to(1).at("type") == "watching");
}

TEST_CASE("watch_root refuses a root the caller owns when its .muse belongs to someone else") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  let_others_reach_the_socket_dir(ws);
  fs::path repo = ws.scratch("half-mine");
  fs::create_directories(repo / ".muse" / "coordination");
  REQUIRE(::chown(repo.c_str(), kNobodyUid, kNobodyGid) == 0);  // .muse stays root's
  DaemonProcess daemon(ws, {"--allow-uid", "65534", "--allow-write"});
  let_others_connect(ws);

  ForeignConversation talk =
      converse_as(ForeignUser{}, ws.socket(), {{{"op", "watch_root"}, {"path", repo.string()}}});

  INFO(talk.describe());
  REQUIRE(talk.failure.empty());
  json::object reply = talk.reply_to(0);
  CHECK(error_code_of(reply) == "bad_root");
  CHECK(std::string(reply.at("message").as_string())
            .find((repo / ".muse").string() + " is owned by uid 0") != std::string::npos);
  CHECK(daemon.connect().call({{"op", "status"}}).at("roots").as_array().size() == 1);
}

TEST_CASE("unwatch_root by a writer who does not own the root is refused and the root stays") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;  // the repo belongs to root, who runs the tests
  let_others_reach_the_socket_dir(ws);
  DaemonProcess daemon(ws, {"--allow-uid", "65534", "--allow-write"});
  let_others_connect(ws);

  ForeignConversation talk = converse_as(ForeignUser{}, ws.socket(),
                                         {{{"op", "unwatch_root"}, {"path", ws.repo().string()}}});

  INFO(talk.describe());
  REQUIRE(talk.failure.empty());
  CHECK(error_code_of(talk.reply_to(0)) == "bad_root");
  CHECK(daemon.connect().call({{"op", "hello"}}).at("roots") == json::array{ws.repo().c_str()});
}

TEST_CASE("with --allow-write an allowed uid, named by user name, may send to an agent") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  let_others_reach_the_socket_dir(ws);
  DaemonProcess daemon(ws, {"--allow-uid", "nobody", "--allow-write"});
  let_others_connect(ws);
  EventReader orchestrator = daemon.connect();
  REQUIRE(orchestrator.call({{"op", "hello"}, {"agent", "orchestrator"}}).at("type") == "hello");

  ForeignConversation talk = converse_as(
      ForeignUser{}, ws.socket(),
      {{{"op", "send"}, {"to", "orchestrator"}, {"message", context_message("from nobody")}}});

  INFO(talk.describe());
  REQUIRE(talk.failure.empty());
  CHECK(talk.reply_to(0).at("type") == "sent");
  json::object heard = orchestrator.read_until(line_of_type("message")).back();
  CHECK(heard.at("message") == context_message("from nobody"));
}

}  // namespace
}  // namespace coordd::integration

namespace coordd::integration {

TEST_CASE("a read-only client's sync completes without coordd creating any file") {
  if (!running_as_root()) {
    MESSAGE("skipped: running a client as uid 65534 needs root");
    return;
  }
  Workspace ws;
  write_record_atomic(ws.kind_dir("tasks"), "t-1", {{"task_id", "t-1"}});
  let_others_reach_the_socket_dir(ws);
  DaemonProcess daemon(ws, {"--allow-uid", "65534"});
  let_others_connect(ws);
  // Every file created in the coordination directory, seen from here.
  int watch = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  REQUIRE(watch >= 0);
  REQUIRE(::inotify_add_watch(watch, ws.coordination().c_str(), IN_CREATE) >= 0);

  ForeignConversation talk = converse_as(ForeignUser{}, ws.socket(), {{{"op", "sync"}}});

  INFO(talk.describe());
  REQUIRE(talk.failure.empty());
  CHECK(talk.reply_to(0).at("type") == "synced");
  // A cookie would have been created before synced was sent.
  alignas(8) char events[4096];
  CHECK(::read(watch, events, sizeof events) < 0);
  // The owner's sync does use a cookie (so the check above can see one).
  EventReader owner = daemon.connect();
  REQUIRE(owner.call({{"op", "sync"}}).at("type") == "synced");
  CHECK(::read(watch, events, sizeof events) > 0);
  ::close(watch);
}

}  // namespace coordd::integration
