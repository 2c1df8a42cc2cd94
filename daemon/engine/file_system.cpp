#include "daemon/engine/file_system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/openat2.h>
#endif

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <tuple>
#include <utility>

namespace coordd {
namespace {

// splitmix64's finalizer: a bijection of 64-bit words that spreads every bit.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

FileStamp stamp_of(const struct stat& st) {
#ifdef __APPLE__
  const struct timespec &mtime = st.st_mtimespec, &ctime = st.st_ctimespec;
#else
  const struct timespec &mtime = st.st_mtim, &ctime = st.st_ctim;
#endif
  return FileStamp{std::int64_t(mtime.tv_sec) * 1'000'000'000 + mtime.tv_nsec,
                   std::int64_t(st.st_size), std::uint64_t(st.st_ino),
                   std::int64_t(ctime.tv_sec) * 1'000'000'000 + ctime.tv_nsec};
}

// Closes a descriptor on scope exit.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

// Roots are canonical when added, so a symlink found anywhere on the way was
// put there since, possibly swapped in between an event and this read.
}  // namespace

std::uint64_t FileStamp::digest() const {
  std::uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (std::uint64_t word : {std::uint64_t(mtime_ns), std::uint64_t(size), inode}) {
    h = mix(h ^ word) + 0x9e3779b97f4a7c15ULL;
  }
  return mix(h ^ std::uint64_t(ctime_ns));
}

namespace {

int open_no_symlinks_raw(const std::string& path, int flags, mode_t mode, PathWalk walk);

}  // namespace

int open_no_symlinks(const std::string& path, int flags, mode_t mode, PathWalk walk) {
  int fd = open_no_symlinks_raw(path, flags, mode, walk);
  if (fd < 0 && errno == ENOTDIR && (flags & O_DIRECTORY) != 0) {
    // A directory was asked for and a symlink found (O_PATH|O_NOFOLLOW would
    // have opened the link itself, O_DIRECTORY refused it): say symlink.
    struct stat st {};
    if (::fstatat(AT_FDCWD, path.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
      errno = ELOOP;
    } else {
      errno = ENOTDIR;
    }
  }
  return fd;
}

namespace {

int open_no_symlinks_raw(const std::string& path, int flags, mode_t mode, PathWalk walk) {
  flags |= O_NOFOLLOW | O_CLOEXEC;
#if defined(__linux__) && defined(SYS_openat2)
  static std::atomic<bool> have_openat2{true};
  if (walk == PathWalk::kKernel && have_openat2.load(std::memory_order_relaxed)) {
    struct open_how how {};
    how.flags = std::uint64_t(flags);
    how.mode = (flags & O_CREAT) != 0 ? mode : 0;
    how.resolve = RESOLVE_NO_SYMLINKS;
    int fd = int(::syscall(SYS_openat2, AT_FDCWD, path.c_str(), &how, sizeof how));
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return fd;
    if (errno == ENOSYS) have_openat2.store(false, std::memory_order_relaxed);
  }
#endif
#ifdef O_PATH
  constexpr int kWalk = O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#else
  constexpr int kWalk = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
#endif
  if (path.empty() || path.front() != '/') {
    errno = EINVAL;
    return -1;
  }
  int dir = ::open("/", kWalk);
  std::size_t begin = 1;
  while (dir >= 0) {
    std::size_t end = path.find('/', begin);
    std::string name = path.substr(begin, end == std::string::npos ? end : end - begin);
    bool last = end == std::string::npos || path.find_first_not_of('/', end) == std::string::npos;
    int next = name.empty() ? ::dup(dir)
               : last       ? ::openat(dir, name.c_str(), flags, mode)
                            : ::openat(dir, name.c_str(), kWalk);
    int err = errno;
    if (next < 0 && err == ENOTDIR && !last) {
      // O_DIRECTORY saw a symlink (or a file) where a directory belongs.
      struct stat st {};
      if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
        err = ELOOP;
      }
    }
    ::close(dir);
    errno = err;
    if (next < 0 || last) return next;
    dir = next;
    begin = path.find_first_not_of('/', end);
  }
  return -1;
}

// The directory holding `path` (opened as open_no_symlinks does) and the
// final component, for the *at calls; fd -1 with errno set on failure.
std::pair<int, std::string> open_parent(const std::string& path) {
  std::size_t slash = path.find_last_of('/');
  if (slash == std::string::npos || slash + 1 == path.size()) {
    errno = EINVAL;
    return {-1, ""};
  }
  std::string parent = slash == 0 ? "/" : path.substr(0, slash);
#ifdef O_PATH
  int fd = parent == "/" ? ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC)
                         : open_no_symlinks(parent, O_PATH | O_DIRECTORY, 0);
#else
  int fd = parent == "/" ? ::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                         : open_no_symlinks(parent, O_RDONLY | O_DIRECTORY, 0);
#endif
  return {fd, path.substr(slash + 1)};
}

}  // namespace

ReadResult DiskFileSystem::read_file(const std::string& path, std::size_t max_bytes) {
  return read_opened(open_no_symlinks(path, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0), max_bytes);
}

ReadResult DiskFileSystem::read_listed(const DirListing& listing, std::string_view name,
                                       std::size_t max_bytes) {
  if (!listing.dir_fd) return FileSystem::read_listed(listing, name, max_bytes);
  int fd = ::openat(*listing.dir_fd, std::string(name).c_str(),
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  return read_opened(fd, max_bytes);
}

ReadResult DiskFileSystem::read_opened(int fd, std::size_t max_bytes) {
  ReadResult result;
  if (fd < 0) {
    int err = errno;
    result.status = err == ENOENT || err == ENOTDIR ? ReadStatus::kMissing
                    : err == ELOOP                  ? ReadStatus::kSymlink
                    : err == ENXIO                  ? ReadStatus::kNotRegular  // a socket
                                                    : ReadStatus::kError;
    result.error = std::strerror(err);
    return result;
  }
  FdCloser closer(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    result.error = std::strerror(errno);
    return result;
  }
  result.stamp = stamp_of(st);
  if (!S_ISREG(st.st_mode)) {
    result.status = ReadStatus::kNotRegular;
    return result;
  }
  if (std::size_t(st.st_size) > max_bytes) {
    result.status = ReadStatus::kTooLarge;
    return result;
  }
  // Read until EOF but never past the limit: the file may grow while we read.
  result.bytes.resize(std::size_t(st.st_size) + 1);
  std::size_t used = 0;
  for (;;) {
    if (used == result.bytes.size()) {
      if (used > max_bytes) {
        result.status = ReadStatus::kTooLarge;
        result.bytes.clear();
        return result;
      }
      result.bytes.resize(std::min(result.bytes.size() * 2, max_bytes + 1));
    }
    ssize_t n = ::read(fd, result.bytes.data() + used, result.bytes.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      result.error = std::strerror(errno);
      result.bytes.clear();
      return result;
    }
    if (n == 0) break;
    used += std::size_t(n);
    // A regular file gives less than asked only at its end: no second read
    // just to see 0.
    if (used < result.bytes.size()) break;
  }
  if (used > max_bytes) {
    result.status = ReadStatus::kTooLarge;
    result.bytes.clear();
    return result;
  }
  result.bytes.resize(used);
  result.stamp = stamp_of(st);
  result.status = ReadStatus::kOk;
  return result;
}

DirStatus DiskFileSystem::probe_dir(const std::string& path) {
  auto [parent, name] = open_parent(path);
  if (parent < 0) {
    return errno == ENOENT || errno == ENOTDIR ? DirStatus::kMissing
           : errno == ELOOP                    ? DirStatus::kSymlink
                                               : DirStatus::kError;
  }
  FdCloser closer(parent);
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return errno == ENOENT || errno == ENOTDIR ? DirStatus::kMissing : DirStatus::kError;
  }
  if (S_ISLNK(st.st_mode)) return DirStatus::kSymlink;
  if (!S_ISDIR(st.st_mode)) return DirStatus::kNotDirectory;
  return DirStatus::kOk;
}

bool DiskFileSystem::can_list_dir(const std::string& path) {
  int fd = open_no_symlinks(path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return false;
  FdCloser closer(fd);
  return ::faccessat(fd, ".", R_OK | X_OK, AT_EACCESS) == 0;
}

DirListing DiskFileSystem::list_dir(const std::string& path, bool with_stamps) {
  DirListing listing;
  int fd = open_no_symlinks(path, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) {
    int err = errno;
    listing.error = std::strerror(err);
    listing.status = err == ENOENT    ? DirStatus::kMissing
                     : err == ELOOP   ? DirStatus::kSymlink
                     : err == ENOTDIR ? probe_dir(path)
                                      : DirStatus::kError;
    return listing;
  }
  // The listing keeps its own descriptor: closedir() closes this one.
  int kept = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (kept >= 0) {
    listing.dir_fd = std::shared_ptr<const int>(new int(kept), [](const int* held) {
      ::close(*held);
      delete held;
    });
  }
  listing.path = path;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    listing.error = std::strerror(errno);
    listing.dir_fd.reset();
    ::close(fd);
    return listing;
  }
  while (struct dirent* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name == "." || name == "..") continue;
    DirEntry out{std::string(name), {}, entry->d_type == DT_REG || entry->d_type == DT_UNKNOWN};
    if (with_stamps) {
      struct stat st {};
      if (::fstatat(fd, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // raced away
      out.stamp = stamp_of(st);
      out.regular = S_ISREG(st.st_mode);
    }
    listing.entries.push_back(std::move(out));
  }
  ::closedir(dir);
  listing.status = DirStatus::kOk;
  return listing;
}

Status DiskFileSystem::create_file(const std::string& path) {
  int fd = open_no_symlinks(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return Status::error("io", "cannot create " + path + ": " + std::strerror(errno));
  ::close(fd);
  return Status();
}

void DiskFileSystem::remove_file(const std::string& path) {
  auto [parent, name] = open_parent(path);
  if (parent < 0) return;
  ::unlinkat(parent, name.c_str(), 0);
  ::close(parent);
}

Status DiskFileSystem::replace_file(const std::string& path, std::string_view bytes,
                                    bool only_if_absent) {
  auto fail = [&](const std::string& what) {
    return Status::error("io", what + " " + path + ": " + std::strerror(errno));
  };
  auto [parent, name] = open_parent(path);
  if (parent < 0 && errno == ENOENT) {
    // The directory itself is missing (a kind directory not made yet).
    std::string dir = path.substr(0, path.find_last_of('/'));
    auto [grand, dir_name] = open_parent(dir);
    if (grand < 0) return fail("cannot reach the directory of");
    int made = ::mkdirat(grand, dir_name.c_str(), 0755);
    int made_errno = errno;
    ::close(grand);
    errno = made_errno;
    if (made != 0 && errno != EEXIST) return fail("cannot make the directory of");
    std::tie(parent, name) = open_parent(path);
  }
  if (parent < 0) return fail("cannot open the directory of");
  FdCloser closer(parent);
  std::string temp = "." + name + ".coordd.tmp";
  int fd =
      ::openat(parent, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 && errno == EEXIST) {  // left by a run that died mid-write
    ::unlinkat(parent, temp.c_str(), 0);
    fd = ::openat(parent, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  }
  if (fd < 0) return fail("cannot create a temp file for");
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status failed = fail("cannot write");
      ::close(fd);
      ::unlinkat(parent, temp.c_str(), 0);
      return failed;
    }
    done += std::size_t(n);
  }
  ::close(fd);
  int renamed = 0;
  if (only_if_absent) {
#ifdef RENAME_NOREPLACE
    renamed = ::renameat2(parent, temp.c_str(), parent, name.c_str(), RENAME_NOREPLACE);
#else
    renamed = ::linkat(parent, temp.c_str(), parent, name.c_str(), 0);
    if (renamed == 0) ::unlinkat(parent, temp.c_str(), 0);
#endif
  } else {
    renamed = ::renameat(parent, temp.c_str(), parent, name.c_str());
  }
  if (renamed != 0) {
    Status failed =
        errno == EEXIST ? Status::error("exists", path + " exists") : fail("cannot rename into");
    ::unlinkat(parent, temp.c_str(), 0);
    return failed;
  }
  return Status();
}

}  // namespace coordd
