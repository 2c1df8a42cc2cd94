// FileSystem: the only way the engine touches the disk, so tests can swap in
// a fake. Calls are synchronous and meant for small local files; the reactor
// thread is the only caller.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/status.hpp"

namespace coordd {

// Identity of a file's content as stat(2) sees it; equal stamps mean "not
// re-read" to the polling rescan.
struct FileStamp {
  std::int64_t mtime_ns = 0;
  std::int64_t size = 0;
  std::uint64_t inode = 0;
  // Changes with the content and with a chmod/chown too: a file that could
  // not be read is read again once its permissions change.
  std::int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
  // The stamp in 8 bytes, for what is kept per record (a daemon holds 1M).
  // Stamps differing only in ctime_ns -- every write and chmod moves it --
  // never share a digest (the last step is a bijection of it); others do
  // with probability about 2^-64.
  std::uint64_t digest() const;
};

enum class ReadStatus {
  kOk,
  kMissing,     // ENOENT: the file is gone
  kSymlink,     // a symlink, never followed
  kNotRegular,  // a FIFO, socket, device or directory
  kTooLarge,    // more than the byte limit
  kError,       // any other errno
};

struct ReadResult {
  ReadStatus status = ReadStatus::kError;
  std::string bytes;  // the content when kOk
  FileStamp stamp;    // valid when kOk, kNotRegular or kTooLarge (from fstat)
  std::string error;  // strerror text when kError
};

enum class DirStatus { kOk, kMissing, kSymlink, kNotDirectory, kError };

struct DirEntry {
  std::string name;
  FileStamp stamp;  // from fstatat without following links
  bool regular = false;
};

struct DirListing {
  DirStatus status = DirStatus::kError;
  std::vector<DirEntry> entries;  // when kOk
  std::string error;
  std::string path;  // the directory listed
  // DiskFileSystem: the listed directory, held open while the listing lives,
  // so read_listed() opens its files relative to it (no path walk per file,
  // and the directory read is the one listed even if the path is swapped).
  std::shared_ptr<const int> dir_fd;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Reads a regular file without following a symlink anywhere on its path
  // and without blocking on FIFOs, at most max_bytes.
  virtual ReadResult read_file(const std::string& path, std::size_t max_bytes) = 0;

  // Reads the entry `name` of a directory listed by list_dir(), as
  // read_file would read `listing.path + "/" + name`.
  virtual ReadResult read_listed(const DirListing& listing, std::string_view name,
                                 std::size_t max_bytes) {
    std::string path = listing.path;
    path += '/';
    path += name;
    return read_file(path, max_bytes);
  }

  // Lists a directory's entries (not "." and ".."); a symlinked directory is
  // reported as kSymlink and not listed. with_stamps=false skips the per-entry
  // stat (stamps are zero, regular is true for every entry not known otherwise).
  virtual DirListing list_dir(const std::string& path, bool with_stamps) = 0;

  // What `path` is, without following a final symlink.
  virtual DirStatus probe_dir(const std::string& path) = 0;

  // Creates an empty file that must not exist yet (sync cookies). Returns ""
  // or the error text.
  virtual Status create_file(const std::string& path) = 0;
  // Removes a file; a missing file is not an error.
  virtual void remove_file(const std::string& path) = 0;
  // Writes `path` atomically (a temp file, ".<name>.coordd.tmp" beside it,
  // renamed into place), creating its directory (one level) when missing.
  // With `only_if_absent` a file already there is left alone: the error
  // code is then "exists". Like every call here, follows no symlink.
  virtual Status replace_file(const std::string& path, std::string_view bytes,
                              bool only_if_absent) = 0;
};

// How open_no_symlinks resolves a path: one openat2(RESOLVE_NO_SYMLINKS)
// call where the kernel has it (Linux 5.6+), else a walk from "/" with each
// directory opened O_NOFOLLOW|O_DIRECTORY relative to the one before; tests
// ask for the walk to check it too.
enum class PathWalk { kKernel, kComponents };

// open(2) of an absolute path that refuses a symlink in any component, the
// last one included (errno ELOOP), so nothing behind a symlink is opened.
// O_NOFOLLOW and O_CLOEXEC are added to `flags`.
int open_no_symlinks(const std::string& path, int flags, mode_t mode,
                     PathWalk walk = PathWalk::kKernel);

// The real thing, over POSIX calls. Every path is opened without following
// a symlink in any of its components (roots are canonical, so one found on
// the way was swapped in): a record, a listing, a cookie is never read or
// written outside the repository.
class DiskFileSystem final : public FileSystem {
 public:
  ReadResult read_file(const std::string& path, std::size_t max_bytes) override;
  ReadResult read_listed(const DirListing& listing, std::string_view name,
                         std::size_t max_bytes) override;
  DirListing list_dir(const std::string& path, bool with_stamps) override;
  DirStatus probe_dir(const std::string& path) override;
  Status create_file(const std::string& path) override;
  void remove_file(const std::string& path) override;
  Status replace_file(const std::string& path, std::string_view bytes,
                      bool only_if_absent) override;
  // Whether this process may list `path` and open what is in it (read and
  // search permission), without following a symlink.
  bool can_list_dir(const std::string& path);

 private:
  // Reads an opened file (fd < 0: reports the open's errno).
  static ReadResult read_opened(int fd, std::size_t max_bytes);
};

}  // namespace coordd
