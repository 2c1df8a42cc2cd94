// KqueueLogic (the kqueue backend's decisions) driven through a FakeVnodeApi:
// what it opens, refuses, closes and asks to rescan.
#include "daemon/watch/kqueue_logic.hpp"

#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "tests/unit/fake_vnode_api.hpp"

using namespace coordd;
using namespace coordd::testing;

namespace {

std::string coordination(const std::string& repo = "/repo") { return repo + "/.muse/coordination"; }

std::string dir_of(Kind kind, const std::string& repo = "/repo") {
  return coordination(repo) + "/" + std::string(kind_dir(kind));
}

struct KqueueLogicFixture {
  FakeVnodeApi vnodes;
  std::vector<std::string> errors;
  KqueueLogic logic{vnodes, [this](const std::string& message) { errors.push_back(message); }};

  // A repo whose coordination directory holds `kinds`' directories.
  void make_repo(const std::string& repo, std::initializer_list<Kind> kinds) {
    vnodes.make_dir(repo);
    vnodes.make_dir(repo + "/.muse");
    vnodes.make_dir(coordination(repo));
    for (Kind kind : kinds) vnodes.make_dir(dir_of(kind, repo));
  }
  void make_full_repo(const std::string& repo = "/repo") {
    make_repo(repo, {});
    for (Kind kind : kAllKinds) vnodes.make_dir(dir_of(kind, repo));
  }
  // What the kernel would report for the directory now open at `path`.
  VnodeEvent event(const std::string& path, unsigned changes) {
    auto handle = vnodes.handle_of(path);
    REQUIRE(handle);
    return {*handle, changes};
  }
  std::vector<RescanRequest> deliver(std::initializer_list<VnodeEvent> batch) {
    std::vector<VnodeEvent> events(batch);
    return logic.handle(events);
  }
};

using Rescans = std::vector<RescanRequest>;
using Paths = std::vector<std::string>;

}  // namespace

TEST_CASE_FIXTURE(
    KqueueLogicFixture,
    "kqueue: adding a root opens every existing level and kind directory, parents first") {
  make_repo("/repo", {Kind::kReservation, Kind::kTask});

  WatchResult result = logic.add_root(1, "/repo");

  CHECK(result.ok());
  CHECK(vnodes.opened() == Paths{"/repo", "/repo/.muse", coordination(), dir_of(Kind::kReservation),
                                 dir_of(Kind::kTask)});
  CHECK(vnodes.watched().size() == 5);
  CHECK(errors.empty());
}

TEST_CASE_FIXTURE(KqueueLogicFixture,
                  "kqueue: a symlinked coordination directory makes add_root refuse the root and "
                  "keep no handle") {
  make_repo("/repo", {});
  vnodes.remove(coordination());
  vnodes.make_symlink(coordination());

  WatchResult result = logic.add_root(1, "/repo");

  CHECK(result.code == WatchResult::Code::kRefused);
  CHECK(
      result.message ==
      "/repo/.muse/coordination is a symlink; refusing to watch it (replace it with a directory)");
  CHECK(vnodes.open_paths().empty());
  CHECK(vnodes.closed().size() == 2);  // the repo and .muse, opened before the refusal
  CHECK(logic.roots().empty());
}

TEST_CASE_FIXTURE(
    KqueueLogicFixture,
    "kqueue: a kind directory created later is opened after coordination reports a write") {
  make_repo("/repo", {Kind::kReservation});
  REQUIRE(logic.add_root(1, "/repo").ok());

  vnodes.make_dir(dir_of(Kind::kClaim));
  Rescans rescans = deliver({event(coordination(), kVnodeWrite)});

  CHECK(vnodes.handle_of(dir_of(Kind::kClaim)));
  CHECK(vnodes.watched().contains(*vnodes.handle_of(dir_of(Kind::kClaim))));
  CHECK(rescans == Rescans{{1, RescanCause::kDirectoryChanged}});
}

TEST_CASE_FIXTURE(KqueueLogicFixture,
                  "kqueue: a coordination directory created later is opened with its kind "
                  "directories after .muse reports a write") {
  vnodes.make_dir("/repo");
  vnodes.make_dir("/repo/.muse");
  REQUIRE(logic.add_root(1, "/repo").ok());

  make_repo("/repo", {Kind::kTask, Kind::kIntent});
  Rescans rescans = deliver({event("/repo/.muse", kVnodeWrite)});

  CHECK(vnodes.open_paths() ==
        Paths{"/repo", "/repo/.muse", coordination(), dir_of(Kind::kIntent), dir_of(Kind::kTask)});
  CHECK(rescans == Rescans{{1, RescanCause::kDirectoryChanged}});
}

TEST_CASE_FIXTURE(KqueueLogicFixture,
                  "kqueue: a write to coordination that opens nothing new, such as a sync cookie, "
                  "asks for no rescan") {
  make_full_repo();
  REQUIRE(logic.add_root(1, "/repo").ok());

  Rescans rescans = deliver({event(coordination(), kVnodeWrite)});

  CHECK(rescans.empty());
  CHECK(errors.empty());
}

TEST_CASE_FIXTURE(KqueueLogicFixture,
                  "kqueue: a write to a kind directory asks for exactly one rescan of its root, "
                  "trusting stamps") {
  make_full_repo();
  REQUIRE(logic.add_root(1, "/repo").ok());
  std::size_t attempts = vnodes.attempts().size();

  Rescans rescans = deliver({event(dir_of(Kind::kIntent), kVnodeWrite)});

  CHECK(rescans == Rescans{{1, RescanCause::kDirectoryWrite}});
  CHECK(vnodes.attempts().size() == attempts);  // nothing was re-armed
}

TEST_CASE_FIXTURE(KqueueLogicFixture,
                  "kqueue: several events of one batch coalesce into one rescan per root") {
  make_full_repo("/repo");
  make_full_repo("/other");
  REQUIRE(logic.add_root(1, "/repo").ok());
  REQUIRE(logic.add_root(2, "/other").ok());

  Rescans rescans = deliver({event(dir_of(Kind::kIntent), kVnodeWrite),
                             event(dir_of(Kind::kClaim, "/other"), kVnodeWrite),
                             event(dir_of(Kind::kTask), kVnodeExtend),
                             event(dir_of(Kind::kReservation), kVnodeWrite | kVnodeExtend)});

  CHECK(rescans == Rescans{{1, RescanCause::kDirectoryWrite}, {2, RescanCause::kDirectoryWrite}});
}

TEST_CASE_FIXTURE(KqueueLogicFixture,
                  "kqueue: a vanished directory in the same batch as a write makes the root's one "
                  "rescan compare content") {
  make_full_repo();
  REQUIRE(logic.add_root(1, "/repo").ok());
  vnodes.remove(dir_of(Kind::kClaim));

  Rescans rescans =
      deliver({event(dir_of(Kind::kIntent), kVnodeWrite), event(dir_of(Kind::kClaim), kVnodeDelete),
               event(coordination(), kVnodeWrite)});

  CHECK(rescans == Rescans{{1, RescanCause::kDirectoryChanged}});
}

TEST_CASE_FIXTURE(
    KqueueLogicFixture,
    "kqueue: a deleted kind directory has its handle closed and the root re-armed and rescanned") {
  make_full_repo();
  REQUIRE(logic.add_root(1, "/repo").ok());
  VnodeHandle claims = *vnodes.handle_of(dir_of(Kind::kClaim));

  vnodes.remove(dir_of(Kind::kClaim));
  Rescans rescans = deliver({event(dir_of(Kind::kClaim), kVnodeDelete)});

  CHECK(vnodes.closed() == std::vector<VnodeHandle>{claims});
  CHECK_FALSE(vnodes.handle_of(dir_of(Kind::kClaim)));
  CHECK(vnodes.attempts().back() == dir_of(Kind::kClaim));  // the re-arm looked for it again
  CHECK(rescans == Rescans{{1, RescanCause::kDirectoryChanged}});
}

TEST_CASE_FIXTURE(KqueueLogicFixture,
                  "kqueue: a kind directory replaced by a new directory before its event is "
                  "handled is reopened") {
  make_full_repo();
  REQUIRE(logic.add_root(1, "/repo").ok());
  VnodeEvent renamed = event(dir_of(Kind::kTask), kVnodeRename);

  vnodes.remove(dir_of(Kind::kTask));
  vnodes.make_dir(dir_of(Kind::kTask));
  Rescans rescans = deliver({renamed});

  auto reopened = vnodes.handle_of(dir_of(Kind::kTask));
  REQUIRE(reopened);
  CHECK(*reopened != renamed.handle);
  CHECK(vnodes.watched().contains(*reopened));
  CHECK(rescans == Rescans{{1, RescanCause::kDirectoryChanged}});
}

TEST_CASE_FIXTURE(
    KqueueLogicFixture,
    "kqueue: a kind directory replaced by a symlink is refused on re-arm, once, and not reopened") {
  make_full_repo();
  REQUIRE(logic.add_root(1, "/repo").ok());

  vnodes.remove(dir_of(Kind::kClaim));
  vnodes.make_symlink(dir_of(Kind::kClaim));
  Rescans rescans = deliver({event(dir_of(Kind::kClaim), kVnodeDelete)});
  deliver({event(coordination(), kVnodeWrite)});  // re-arms again, quietly

  CHECK_FALSE(vnodes.handle_of(dir_of(Kind::kClaim)));
  CHECK(errors == Paths{"/repo/.muse/coordination/claims is a symlink; refusing to watch it "
                        "(replace it with a directory)"});
  CHECK(rescans == Rescans{{1, RescanCause::kDirectoryChanged}});
}

TEST_CASE_FIXTURE(
    KqueueLogicFixture,
    "kqueue: a renamed coordination directory closes it and every kind directory below it") {
  make_full_repo();
  REQUIRE(logic.add_root(1, "/repo").ok());

  vnodes.remove(coordination());  // moved elsewhere, kind directories and all
  Rescans rescans = deliver({event(coordination(), kVnodeRename)});

  CHECK(vnodes.open_paths() == Paths{"/repo", "/repo/.muse"});
  CHECK(vnodes.closed().size() == 1 + kKindCount);
  CHECK(rescans == Rescans{{1, RescanCause::kDirectoryChanged}});
}

TEST_CASE_FIXTURE(
    KqueueLogicFixture,
    "kqueue: a symlinked .muse is reported and not descended into, but the repo is still watched") {
  vnodes.make_dir("/repo");
  vnodes.make_symlink("/repo/.muse");

  WatchResult result = logic.add_root(1, "/repo");

  CHECK(result.ok());
  CHECK(vnodes.attempts() == Paths{"/repo", "/repo/.muse"});  // nothing opened through the symlink
  CHECK(vnodes.open_paths() == Paths{"/repo"});
  CHECK(errors ==
        Paths{"/repo/.muse is a symlink; not watching below it (replace it with a directory)"});
}

TEST_CASE_FIXTURE(
    KqueueLogicFixture,
    "kqueue: remove_root closes every handle of that root and ignores its late events") {
  make_full_repo("/repo");
  make_full_repo("/other");
  REQUIRE(logic.add_root(1, "/repo").ok());
  REQUIRE(logic.add_root(2, "/other").ok());
  VnodeEvent late = event(dir_of(Kind::kTask), kVnodeWrite);

  logic.remove_root(1);

  CHECK(vnodes.closed().size() == 3 + kKindCount);
  for (const std::string& path : vnodes.open_paths()) CHECK(path.starts_with("/other"));
  CHECK(logic.roots() == std::vector<RootId>{2});
  CHECK(deliver({late}).empty());
}

TEST_CASE_FIXTURE(KqueueLogicFixture,
                  "kqueue: running out of descriptors while adding a root reports it unavailable "
                  "and keeps nothing") {
  make_full_repo();
  vnodes.limit_open_handles(3);

  WatchResult result = logic.add_root(1, "/repo");

  CHECK(result.code == WatchResult::Code::kUnavailable);  // so the monitor polls instead
  CHECK(result.message.find("ulimit -n") != std::string::npos);
  CHECK(vnodes.open_paths().empty());
  CHECK(logic.handle_count() == 0);
}

TEST_CASE_FIXTURE(KqueueLogicFixture,
                  "kqueue: a registration the kernel refuses leaves the directory closed and the "
                  "root unavailable") {
  make_full_repo();
  vnodes.refuse_watches("Cannot allocate memory");

  WatchResult result = logic.add_root(1, "/repo");

  CHECK(result.code == WatchResult::Code::kUnavailable);
  CHECK(result.message == "cannot watch /repo: kevent: Cannot allocate memory");
  CHECK(vnodes.open_paths().empty());
}
