// KqueueLogic: the decisions of the kqueue watch backend, apart from the
// kernel so they compile and are tested everywhere. For each root it holds one
// VnodeApi handle per watched directory -- the repo, .muse, .muse/coordination
// and each kind directory, a parent always opened before its children so a
// child created in between is still noticed -- and turns each batch of vnode
// events (one kevent() drain) into re-arms and at most one rescan per root.
// Reactor thread only.
//
// The rules:
// - A kind directory written or extended (an entry added, removed or renamed):
//   rescan the root with RescanCause::kDirectoryWrite. kqueue names the
//   directory, not the file, so the engine diffs a listing; it may trust
//   (mtime, size, inode) stamps, because an entry change gives the file a new
//   inode or removes it.
// - Any watched directory deleted, renamed or revoked: close its handle and
//   every handle below it (a moved directory would go on reporting from its
//   new place), re-arm the root and rescan it with kDirectoryChanged.
// - The repo, .muse or coordination directory written: re-arm, since a child
//   may have appeared; rescan with kDirectoryChanged only if that opened
//   something new (a sync cookie or an unrelated file opens nothing).
// - Re-arming opens only what is not held yet and never follows a symlink. A
//   coordination or kind directory that is a symlink is refused: add_root
//   refuses the whole root (as the inotify backend does); later, the error is
//   reported and that directory stays unwatched. Each problem is reported once
//   until that path changes.
//
// Known limit, by choice: a record rewritten in place (open with O_TRUNC,
// write) changes the file, not its directory, so no event fires. Watching
// every record file would close that gap at one descriptor per record
// (records are unbounded; launchd starts agents with 256 descriptors) plus a
// close and reopen on every atomic replace, so it is not done. Writers that
// follow the protocol write a temporary file and rename it into place, which
// does fire. A record rewritten in place is seen at the next rescan of its
// root: any change in that root's directories, a sync, or the backstop
// scan KqueueWatcher runs every --poll-interval (kqueue_watcher.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "daemon/engine/watcher.hpp"
#include "daemon/watch/vnode_api.hpp"

namespace coordd {

struct RescanRequest {
  RootId root = 0;
  RescanCause cause = RescanCause::kDirectoryChanged;
  bool operator==(const RescanRequest&) const = default;
};

class KqueueLogic {
 public:
  // Receives each non-fatal problem met while arming, as a message that names
  // the path and what to do about it.
  using ErrorReporter = std::function<void(const std::string& message)>;

  // `api` must outlive this object.
  KqueueLogic(VnodeApi& api, ErrorReporter report_error);
  // Closes every handle still held.
  ~KqueueLogic();
  KqueueLogic(const KqueueLogic&) = delete;
  KqueueLogic& operator=(const KqueueLogic&) = delete;

  // Opens and registers every existing directory of the root. kRefused: the
  // repo cannot be opened or a coordination or kind directory is a symlink.
  // kUnavailable: out of descriptors or kernel memory (poll instead). On
  // either, nothing of the root is kept.
  WatchResult add_root(RootId root, const std::string& root_path);
  // Closes every handle of the root; later events for them are ignored.
  void remove_root(RootId root);
  void remove_all();

  // Handles the events of one drain: closes what is gone, re-arms, and returns
  // the rescans to run afterwards, at most one per root, in ascending root
  // order. kDirectoryChanged wins over kDirectoryWrite.
  std::vector<RescanRequest> handle(std::span<const VnodeEvent> events);

  std::vector<RootId> roots() const;
  std::size_t handle_count() const { return slot_of_.size(); }

 private:
  // The repo, .muse, coordination, then one slot per kind: each slot's parent
  // comes before it.
  static constexpr std::size_t kSlotCount = 3 + kKindCount;
  struct RootWatch {
    std::string path;
    std::array<std::optional<VnodeHandle>, kSlotCount> handles;
    std::array<bool, kSlotCount> reported{};  // a problem here was reported already
  };
  struct Watched {
    RootId root;
    std::size_t slot;
  };
  struct ArmReport {
    bool opened = false;  // something new is watched now
    WatchResult fatal;    // while adding: why the root cannot be watched
  };
  enum class ArmMode { kAdding, kRearming };

  ArmReport arm(RootId root, RootWatch& watch, ArmMode mode);
  // What went wrong opening and watching one slot: nothing (an empty
  // message: watched, or absent below the root), or a problem to report,
  // with what it means while adding the root (kOk: report, carry on).
  struct SlotProblem {
    WatchResult::Code code = WatchResult::Code::kOk;
    std::string message;
  };
  SlotProblem open_slot(RootId root, RootWatch& watch, std::size_t slot, ArmReport& report);
  // Closes the slot's handle and every handle below it.
  void close_from(RootWatch& watch, std::size_t slot);
  void close_all(RootWatch& watch) { close_from(watch, 0); }

  VnodeApi& api_;
  ErrorReporter report_error_;
  std::map<RootId, RootWatch> roots_;
  std::map<VnodeHandle, Watched> slot_of_;
};

}  // namespace coordd
