#include "daemon/watch/kqueue_logic.hpp"

#include <utility>

namespace coordd {
namespace {

constexpr std::size_t kRepoSlot = 0;
constexpr std::size_t kMuseSlot = 1;
constexpr std::size_t kCoordinationSlot = 2;
constexpr std::size_t kFirstKindSlot = 3;

std::size_t parent_of(std::size_t slot) {
  return slot >= kFirstKindSlot ? kCoordinationSlot : slot - 1;
}

std::string slot_path(const std::string& root_path, std::size_t slot) {
  switch (slot) {
    case kRepoSlot:
      return root_path;
    case kMuseSlot:
      return root_path + "/.muse";
    case kCoordinationSlot:
      return root_path + "/.muse/coordination";
    default:
      return root_path + "/.muse/coordination/" +
             std::string(kind_dir(kAllKinds[slot - kFirstKindSlot]));
  }
}

}  // namespace

KqueueLogic::KqueueLogic(VnodeApi& api, ErrorReporter report_error)
    : api_(api), report_error_(std::move(report_error)) {}

KqueueLogic::~KqueueLogic() { remove_all(); }

WatchResult KqueueLogic::add_root(RootId root, const std::string& root_path) {
  remove_root(root);
  RootWatch& watch = roots_[root];
  watch.path = root_path;
  ArmReport report = arm(root, watch, ArmMode::kAdding);
  if (!report.fatal.ok()) remove_root(root);
  return report.fatal;
}

void KqueueLogic::remove_root(RootId root) {
  auto it = roots_.find(root);
  if (it == roots_.end()) return;
  close_all(it->second);
  roots_.erase(it);
}

void KqueueLogic::remove_all() {
  for (auto& [root, watch] : roots_) close_all(watch);
  roots_.clear();
}

std::vector<RootId> KqueueLogic::roots() const {
  std::vector<RootId> ids;
  for (const auto& [root, watch] : roots_) ids.push_back(root);
  return ids;
}

std::vector<RescanRequest> KqueueLogic::handle(std::span<const VnodeEvent> events) {
  struct Pending {
    bool rearm = false;
    bool changed = false;  // something appeared, vanished or was replaced
    bool written = false;  // a kind directory's entries changed
  };
  std::map<RootId, Pending> pending;
  for (const VnodeEvent& event : events) {
    auto it = slot_of_.find(event.handle);
    if (it == slot_of_.end()) continue;  // closed earlier in this batch, or its root was removed
    auto [root, slot] = it->second;
    Pending& root_pending = pending[root];
    if (event.changes & kVnodeGone) {
      close_from(roots_.at(root), slot);
      root_pending.rearm = root_pending.changed = true;
    } else if (event.changes & (kVnodeWrite | kVnodeExtend)) {
      (slot >= kFirstKindSlot ? root_pending.written : root_pending.rearm) = true;
    }
  }
  // Re-arm before anything is rescanned, so a change made during the scan
  // still raises an event.
  std::vector<RescanRequest> rescans;
  for (auto& [root, root_pending] : pending) {
    if (root_pending.rearm && arm(root, roots_.at(root), ArmMode::kRearming).opened) {
      root_pending.changed = true;
    }
    if (root_pending.changed) {
      rescans.push_back({root, RescanCause::kDirectoryChanged});
    } else if (root_pending.written) {
      rescans.push_back({root, RescanCause::kDirectoryWrite});
    }
  }
  return rescans;
}

KqueueLogic::SlotProblem KqueueLogic::open_slot(RootId root, RootWatch& watch, std::size_t slot,
                                                ArmReport& report) {
  using Code = WatchResult::Code;
  const std::string path = slot_path(watch.path, slot);
  OpenResult opened = api_.open_directory(path);
  switch (opened.status) {
    case OpenStatus::kOk: {
      std::string error = api_.watch(opened.handle);
      if (error.empty()) {
        watch.handles[slot] = opened.handle;
        slot_of_[opened.handle] = Watched{root, slot};
        watch.reported[slot] = false;
        report.opened = true;
        return {};
      }
      api_.close(opened.handle);
      return {Code::kUnavailable, "cannot watch " + path + ": kevent: " + error};
    }
    case OpenStatus::kMissing:
    case OpenStatus::kNotDirectory:
      if (slot != kRepoSlot) {
        watch.reported[slot] = false;
        return {};  // the engine finds no records there; its parent tells when that changes
      }
      return {Code::kRefused, "cannot watch " + path + ": " +
                                  (opened.status == OpenStatus::kMissing ? "it does not exist"
                                                                         : "not a directory")};
    case OpenStatus::kSymlink:
      if (slot == kMuseSlot) {
        return {Code::kOk,
                path + " is a symlink; not watching below it (replace it with a directory)"};
      }
      return {Code::kRefused,
              path + " is a symlink; refusing to watch it (replace it with a directory)"};
    case OpenStatus::kExhausted:
      return {Code::kUnavailable, "cannot watch " + path + ": " + opened.error +
                                      "; raise the descriptor limit (ulimit -n, or NumberOfFiles "
                                      "under SoftResourceLimits in the launchd plist)"};
    case OpenStatus::kError:
      return {slot == kRepoSlot ? Code::kRefused : Code::kOk,
              "cannot watch " + path + ": " + opened.error};
  }
  return {};
}

KqueueLogic::ArmReport KqueueLogic::arm(RootId root, RootWatch& watch, ArmMode mode) {
  ArmReport report;
  for (std::size_t slot = 0; slot < kSlotCount; ++slot) {
    if (watch.handles[slot]) continue;
    // A child is looked at only under a held parent: until then, the parent's
    // NOTE_WRITE is what announces it.
    if (slot != kRepoSlot && !watch.handles[parent_of(slot)]) continue;
    SlotProblem problem = open_slot(root, watch, slot, report);
    if (problem.message.empty()) continue;
    if (mode == ArmMode::kAdding && problem.code != WatchResult::Code::kOk) {
      report.fatal = WatchResult{problem.code, problem.message};
      return report;
    }
    if (!watch.reported[slot]) {
      watch.reported[slot] = true;
      report_error_(problem.message);
    }
    // The next open would fail the same way.
    if (problem.code == WatchResult::Code::kUnavailable) return report;
  }
  return report;
}

void KqueueLogic::close_from(RootWatch& watch, std::size_t slot) {
  // The slots form one chain down to coordination, which holds every kind
  // directory: everything after a non-kind slot is below it, and nothing is
  // below a kind directory.
  std::size_t end = slot >= kFirstKindSlot ? slot + 1 : kSlotCount;
  for (std::size_t s = slot; s < end; ++s) {
    watch.reported[s] = false;
    if (!watch.handles[s]) continue;
    slot_of_.erase(*watch.handles[s]);
    api_.close(*watch.handles[s]);
    watch.handles[s].reset();
  }
}

}  // namespace coordd
