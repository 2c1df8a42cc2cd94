// VnodeApi: the three vnode calls the kqueue backend makes (open a directory
// without following a symlink, ask for its events, close it), behind an
// interface so KqueueLogic runs against a fake on machines without kqueue.
// The real one is KqueueVnodeApi (kqueue_watcher.hpp). Reactor thread only.
#pragma once

#include <string>

namespace coordd {

// An open directory: a file descriptor in the real API, any int in a fake.
using VnodeHandle = int;

enum class OpenStatus {
  kOk,
  kMissing,       // nothing at that path
  kSymlink,       // a symlink: never opened, never followed
  kNotDirectory,  // a file, FIFO, ... or a path through one
  kExhausted,     // out of file descriptors (EMFILE, ENFILE)
  kError,         // anything else (EACCES, EIO, ...)
};

struct OpenResult {
  OpenStatus status = OpenStatus::kError;
  VnodeHandle handle = -1;  // valid when kOk; the caller must close() it
  std::string error;        // strerror text when kError or kExhausted
};

// What happened to a watched directory: kqueue's NOTE_* flags in portable
// names, so the logic compiles where <sys/event.h> does not exist.
inline constexpr unsigned kVnodeWrite = 1u
                                        << 0;  // NOTE_WRITE: an entry was added, removed or renamed
inline constexpr unsigned kVnodeExtend = 1u << 1;  // NOTE_EXTEND: likewise, on some systems
inline constexpr unsigned kVnodeDelete = 1u << 2;  // NOTE_DELETE: the directory was removed
inline constexpr unsigned kVnodeRename = 1u << 3;  // NOTE_RENAME: the directory was moved
inline constexpr unsigned kVnodeRevoke = 1u
                                         << 4;  // NOTE_REVOKE: revoked or its filesystem unmounted
inline constexpr unsigned kVnodeGone = kVnodeDelete | kVnodeRename | kVnodeRevoke;

// One event drained from the kernel queue.
struct VnodeEvent {
  VnodeHandle handle = -1;
  unsigned changes = 0;  // kVnode* bits
};

class VnodeApi {
 public:
  virtual ~VnodeApi() = default;
  // Opens `path` for event notification only if it is a directory itself,
  // not a symlink to one (O_DIRECTORY|O_NOFOLLOW, O_EVTONLY on macOS).
  virtual OpenResult open_directory(const std::string& path) = 0;
  // Asks for write, extend, delete, rename and revoke events on `handle`,
  // edge-triggered (EV_CLEAR). Returns "" or why the kernel refused.
  virtual std::string watch(VnodeHandle handle) = 0;
  // Closes `handle`; the kernel drops its registration with it.
  virtual void close(VnodeHandle handle) = 0;
};

}  // namespace coordd
