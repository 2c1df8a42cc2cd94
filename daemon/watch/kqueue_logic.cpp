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
    case kRepoSlot: return root_path;
    case kMuseSlot: return root_path + "/.muse";
    case kCoordinationSlot: return root_path + "/.muse/coordination";
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

KqueueLogic::ArmReport KqueueLogic::arm(RootId root, RootWatch& watch, ArmMode mode) {
  using Code = WatchResult::Code;
  ArmReport report;
  for (std::size_t slot = 0; slot < kSlotCount; ++slot) {
    if (watch.handles[slot]) continue;
    // A child is looked at only under a held parent: until then, the parent's
    // NOTE_WRITE is what announces it.
    if (slot != kRepoSlot && !watch.handles[parent_of(slot)]) continue;
    const std::string path = slot_path(watch.path, slot);
    OpenResult opened = api_.open_directory(path);
    Code code = Code::kOk;  // what the problem means while adding the root
    std::string problem;
    switch (opened.status) {
      case OpenStatus::kOk: {
        std::string error = api_.watch(opened.handle);
        if (error.empty()) {
          watch.handles[slot] = opened.handle;
          slot_of_[opened.handle] = Watched{root, slot};
          watch.reported[slot] = false;
          report.opened = true;
          continue;
        }
        api_.close(opened.handle);
        code = Code::kUnavailable;
        problem = "cannot watch " + path + ": kevent: " + error;
        break;
      }
      case OpenStatus::kMissing:
      case OpenStatus::kNotDirectory:
        if (slot != kRepoSlot) {
          watch.reported[slot] = false;
          continue;  // the engine finds no records there; its parent tells when that changes
        }
        code = Code::kRefused;
        problem = "cannot watch " + path + ": " +
                  (opened.status == OpenStatus::kMissing ? "it does not exist" : "not a directory");
        break;
      case OpenStatus::kSymlink:
        if (slot == kMuseSlot) {
          problem = path + " is a symlink; not watching below it (replace it with a directory)";
        } else {
          code = Code::kRefused;
          problem = path + " is a symlink; refusing to watch it (replace it with a directory)";
        }
        break;
      case OpenStatus::kExhausted:
        code = Code::kUnavailable;
        problem = "cannot watch " + path + ": " + opened.error +
                  "; raise the descriptor limit (ulimit -n, or NumberOfFiles under "
                  "SoftResourceLimits in the launchd plist)";
        break;
      case OpenStatus::kError:
        if (slot == kRepoSlot) code = Code::kRefused;
        problem = "cannot watch " + path + ": " + opened.error;
        break;
    }
    if (mode == ArmMode::kAdding && code != Code::kOk) {
      report.fatal = WatchResult{code, problem};
      return report;
    }
    if (!watch.reported[slot]) {
      watch.reported[slot] = true;
      report_error_(problem);
    }
    if (code == Code::kUnavailable) return report;  // the next open would fail the same way
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
